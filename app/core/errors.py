"""One error tree: every failure carries a stable machine `code` and a message safe to show a client.

ServiceError                        code, message, retryable
├── ApiError                        → HTTP `{code, message, details?}` at the API boundary
│   ├── InvalidInput (422)          bad ids, missing or oversized fields, unknown music
│   ├── Unauthorized (401)          missing or wrong API key
│   ├── NotFound (404)              unknown or another user's story, unknown shot or operation
│   ├── Conflict (409)              idempotency mismatch, story taken
│   ├── PreconditionFailed (409)    e.g. render of a story without a storyboard
│   ├── PayloadTooLarge (413)       body over MAX_BODY_BYTES
│   ├── TooManyRequests (429)       the work queue is full (with Retry-After)
│   ├── StorageFull (507)           ENOSPC or below MIN_FREE_DISK_MB: `storage_full`
│   ├── StorageUnwritable (503)     read-only or refused writes: `storage_unwritable`
│   └── OperationOutcome            a waiting (synchronous) request's operation did not succeed in time
│       ├── OperationFailed (502)   it failed: the code and reason of its error
│       ├── OperationCancelled (409) it was cancelled
│       └── OperationTimeout (504)  it is still running when the wait ends; it goes on, a retry waits again
├── ConfigurationError              settings name a backend that does not exist or cannot be built
├── StageError                      a pipeline step failed: recorded in the operation (`<stage>_failed`…)
├── BackendError                    one backend call failed (the chain may fall back to the next backend)
│   ├── TransientBackendError       429, 5xx, timeouts, dropped connections: retried with backoff + jitter
│   └── TerminalBackendError        moderation, invalid input, a vendor's FAILED task: never retried
└── MediaError                      a tool or file the pipeline works on failed
    ├── FFmpegError                 FFmpeg or ffprobe exited non-zero or timed out
    ├── ComposeInputError           the shots handed to composition are unusable
    ├── SpeechError                 a speech engine is missing or failed
    ├── ReplyError                  an LLM reply that cannot be used (sent back to the model)
    └── WorkflowError               a ComfyUI template that is not a usable graph
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class ServiceError(Exception):
    """Base of every error the service raises on purpose."""

    code = "internal_error"
    #: whether the same work may succeed when tried again (a later render, a retried call)
    retryable = False

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


# --------------------------------------------------------------------------- API


class ApiError(ServiceError):
    status_code = 400

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None, *,
                 headers: dict[str, str] | None = None):
        super().__init__(message, code=code)
        self.details = details
        #: response headers the answer carries (e.g. Preference-Applied)
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(ApiError):
    status_code = 422


class Unauthorized(ApiError):
    status_code = 401


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class PreconditionFailed(ApiError):
    status_code = 409


class PayloadTooLarge(ApiError):
    status_code = 413


class TooManyRequests(ApiError):
    """The work queue is full; `retry_after_s` goes out as `Retry-After`."""

    status_code = 429

    def __init__(self, code: str, message: str, *, retry_after_s: int, details: dict[str, Any] | None = None):
        super().__init__(code, message, details, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


class StorageFull(ApiError):
    """No space left for state or media (ENOSPC, or below MIN_FREE_DISK_MB)."""

    status_code = 507
    retryable = True


class StorageUnwritable(ApiError):
    """State or media cannot be written (read-only file system, permissions)."""

    status_code = 503
    retryable = True


class OperationOutcome(ApiError):
    """A request that waited for its operation, answered with an error status: the body names the
    operation (`{code, message, operation_id, details?}`) so the client can poll it or send the same
    request again."""

    def __init__(self, code: str, message: str, *, operation_id: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(code, message, details, headers=headers)
        self.operation_id = operation_id

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "operation_id": self.operation_id,
                **({"details": self.details} if self.details else {})}


class OperationFailed(OperationOutcome):
    status_code = 502


class OperationCancelled(OperationOutcome):
    status_code = 409


class OperationTimeout(OperationOutcome):
    status_code = 504
    retryable = True


# --------------------------------------------------------------------------- configuration


class ConfigurationError(ServiceError):
    """Settings name a backend that does not exist or cannot be built, or an impossible combination."""

    code = "configuration_error"


# --------------------------------------------------------------------------- pipeline


class StageError(ServiceError):
    """A pipeline step failed; recorded in the operation, never sent as an HTTP error."""

    def __init__(self, code: str, message: str, *, stage: str, shot_id: str | None = None,
                 retryable: bool = False):
        super().__init__(message, code=code)
        self.stage = stage
        self.shot_id = shot_id
        self.retryable = retryable


class BackendError(ServiceError):
    """A backend failed. `message` is safe to show a client (the vendor's own words, no secrets)."""

    transient = False

    def __init__(self, backend: str, code: str, message: str):
        super().__init__(message, code=code)
        self.args = (f"{backend}: {code}: {message}",)
        self.backend = backend
        self.retryable = self.transient

    def __str__(self) -> str:
        return f"{self.backend}: {self.code}: {self.message}"


class TransientBackendError(BackendError):
    transient = True


class TerminalBackendError(BackendError):
    transient = False


# --------------------------------------------------------------------------- media and tools


class MediaError(ServiceError):
    code = "media_error"


class FFmpegError(MediaError, RuntimeError):
    """FFmpeg or ffprobe exited non-zero or timed out; carries the tail of stderr."""

    code = "ffmpeg_failed"

    def __init__(self, argv: list[str], returncode: int | None, stderr_tail: str):
        super().__init__(f"{Path(argv[0]).name} failed ({returncode}): {stderr_tail[-600:]}")
        self.argv = argv
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class ComposeInputError(MediaError, ValueError):
    """The shots handed to composition are unusable (none, missing files, bad durations)."""

    code = "compose_input_invalid"

    def __init__(self, message: str, *, shot_id: str | None = None):
        super().__init__(message)
        self.shot_id = shot_id


class SpeechError(MediaError, RuntimeError):
    """A speech engine is missing or failed to synthesize."""

    code = "speech_failed"


class ReplyError(MediaError, ValueError):
    """A reply that cannot be used; the message says why, in words fit to send back to the model."""

    code = "reply_invalid"


class WorkflowError(MediaError, ValueError):
    """A template is not a usable API-format graph (bad JSON, dangling link, missing mark)."""

    code = "workflow_invalid"


def describe(exc: BaseException) -> str:
    """A client-safe description of a failure: our errors speak for themselves, others by type only."""
    if isinstance(exc, BackendError):
        return f"{exc.code}: {exc.message}"
    if isinstance(exc, ServiceError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"  # errno words only: a path could name a user
    return type(exc).__name__


def storage_error(exc: OSError) -> ApiError | None:
    """The API error a failed state or media write means, if it is a disk fault (else None)."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull("storage_full", "no space left for the service's data; try again later")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StorageUnwritable("storage_unwritable", "the service's data folder cannot be written; try again later")
    return None
