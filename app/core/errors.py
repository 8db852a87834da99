"""Errors with a stable machine code, mapped to HTTP at the API boundary.

ApiError                       → its own status, `{code, message, details?}`
├── InvalidInput (422)         bad ids, missing or oversized fields
├── NotFound (404)             unknown or another user's story, unknown shot or operation
├── Conflict (409)             idempotency mismatch, story taken
└── PreconditionFailed (409)   e.g. render of a story without a storyboard

StageError is raised inside the pipeline and recorded in the operation, never sent as HTTP.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status_code = 400

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(ApiError):
    status_code = 422


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class PreconditionFailed(ApiError):
    status_code = 409


class StageError(Exception):
    """A pipeline step failed; `code` is stable, `message` is safe to show the client."""

    def __init__(self, code: str, message: str, *, stage: str, shot_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.stage = stage
        self.shot_id = shot_id
