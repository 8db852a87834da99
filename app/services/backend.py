"""What every non-embedded backend shares: its error types, call policy, settings base, and readiness report.

BackendError
├── TransientBackendError   429, 5xx, timeouts, dropped connections: retried with backoff + jitter
└── TerminalBackendError    moderation, invalid input, a vendor's FAILED task: never retried

A stage runs through a `StageChain` (chain.py): when one backend fails for a shot, the next one in
the chain (by default the embedded one) takes over and the shot records that it was degraded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

T = TypeVar("T")


class BackendError(Exception):
    """A backend failed. `message` is safe to show a client (the vendor's own words, no secrets)."""

    transient = False

    def __init__(self, backend: str, code: str, message: str):
        super().__init__(f"{backend}: {code}: {message}")
        self.backend = backend
        self.code = code
        self.message = message


class TransientBackendError(BackendError):
    transient = True


class TerminalBackendError(BackendError):
    transient = False


def is_transient(exc: BaseException) -> bool:
    """Whether a failure is worth retrying: our transient errors, timeouts and transport errors."""
    if isinstance(exc, BackendError):
        return exc.transient
    return isinstance(exc, TimeoutError | httpx.TimeoutException | httpx.TransportError)


def http_status_error(backend: str, status: int, message: str, code: str | None = None) -> BackendError:
    """Map an HTTP status to the error kind: 408/429/5xx are transient, the rest terminal."""
    kind = TransientBackendError if status in (408, 429) or status >= 500 else TerminalBackendError
    return kind(backend, code or f"http_{status}", message)


@dataclass(frozen=True)
class CallPolicy:
    """How one backend is called: at most `concurrency` at once, each attempt bounded by `timeout_s`,
    transient failures retried `retries` times with exponential backoff and jitter."""

    concurrency: int = 1
    timeout_s: float = 600.0
    retries: int = 2
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0


def backend_settings_config(env_prefix: str) -> SettingsConfigDict:
    """A backend settings class's `model_config`: `env_prefix`* names from the environment or .env, empty
    values ignored (the default holds), unknown names ignored."""
    return SettingsConfigDict(env_prefix=env_prefix, env_file=".env", env_ignore_empty=True, extra="ignore")


class RetrySettings(BaseSettings):
    """The call-policy knobs but the attempt timeout, for backends whose timeouts have names of their own;
    each backend subclasses this with its own env prefix and overrides the defaults it changes."""

    CONCURRENCY: int = 2
    RETRIES: int = 2
    BACKOFF_BASE_S: float = 2.0
    BACKOFF_MAX_S: float = 30.0

    def call_policy(self, *, timeout_s: float, concurrency: int | None = None) -> CallPolicy:
        """These retries and backoff, each attempt bounded by `timeout_s`; CONCURRENCY unless `concurrency`."""
        return CallPolicy(concurrency=self.CONCURRENCY if concurrency is None else concurrency, timeout_s=timeout_s,
                          retries=self.RETRIES, backoff_base_s=self.BACKOFF_BASE_S, backoff_max_s=self.BACKOFF_MAX_S)


class PolicySettings(RetrySettings):
    """CallPolicy knobs; each backend subclasses this with its own env prefix and defaults."""

    TIMEOUT_S: float = 300.0

    def policy(self) -> CallPolicy:
        return self.call_policy(timeout_s=self.TIMEOUT_S)


class PolicedCaller:
    """Applies a CallPolicy to calls of one backend instance."""

    def __init__(self, backend: str, policy: CallPolicy):
        self.backend = backend
        self.policy = policy
        self._slots = asyncio.Semaphore(max(policy.concurrency, 1))

    async def __call__(self, call: Callable[[], Awaitable[T]]) -> T:
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.policy.retries + 1),
            wait=wait_exponential_jitter(initial=self.policy.backoff_base_s, max=self.policy.backoff_max_s),
            reraise=True,
        )
        async with self._slots:
            async for attempt in retrying:
                with attempt:
                    try:
                        async with asyncio.timeout(self.policy.timeout_s):
                            return await call()
                    except TimeoutError as exc:
                        raise TransientBackendError(self.backend, "timeout",
                                                    f"no answer within {self.policy.timeout_s:g} s") from exc
        raise AssertionError("unreachable")  # pragma: no cover


class Readiness(BaseModel):
    """One backend's readiness, as /readyz reports it."""

    ready: bool
    detail: str = ""


def binary_readiness(binary: str) -> Readiness:
    """Ready when an executable the backend runs is on PATH."""
    import shutil

    path = shutil.which(binary)
    return Readiness(ready=path is not None, detail=f"{binary} found" if path else f"{binary} is not installed")
