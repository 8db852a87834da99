"""What every non-embedded backend shares: how its errors are classified, its call policy, its readiness.

The error types are in app/core/errors.py (BackendError: transient ones are retried, terminal ones not).

A stage runs through a `StageChain` (chain.py): when one backend fails for a shot, the next one in
the chain (by default the embedded one) takes over and the shot records that it was degraded.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

import httpx
from pydantic import BaseModel
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from app.core import metrics
from app.core.errors import BackendError, TerminalBackendError, TransientBackendError
from app.core.settings.base import CallPolicy
from app.services.scheduling import FairSlots

T = TypeVar("T")



def is_transient(exc: BaseException) -> bool:
    """Whether a failure is worth retrying: our transient errors, timeouts and transport errors."""
    if isinstance(exc, BackendError):
        return exc.transient
    return isinstance(exc, TimeoutError | httpx.TimeoutException | httpx.TransportError)


def http_status_error(backend: str, status: int, message: str, code: str | None = None) -> BackendError:
    """Map an HTTP status to the error kind: 408/429/5xx are transient, the rest terminal."""
    kind = TransientBackendError if status in (408, 429) or status >= 500 else TerminalBackendError
    return kind(backend, code or f"http_{status}", message)




def backoff_s(attempts: int, *, base_s: float, max_s: float) -> float:
    """The wait after `attempts` failures: exponential from `base_s`, capped at `max_s`, with ±20% jitter.

    The one backoff of the service: backend retries (through tenacity) and callback redelivery use it."""
    delay = min(base_s * 2.0 ** max(attempts - 1, 0), max_s)
    return delay * random.uniform(0.8, 1.2)


class PolicedCaller:
    """Applies a CallPolicy to calls of one backend instance: at most `concurrency` at once (0 = no limit of
    its own), the free slots served fairly between stories (scheduling.FairSlots), each attempt bounded."""

    def __init__(self, backend: str, policy: CallPolicy):
        self.backend = backend
        self.policy = policy
        self._slots = FairSlots(policy.concurrency)

    async def __call__(self, call: Callable[[], Awaitable[T]]) -> T:
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.policy.retries + 1),
            wait=lambda state: backoff_s(state.attempt_number, base_s=self.policy.backoff_base_s,
                                         max_s=self.policy.backoff_max_s),
            reraise=True,
            before_sleep=lambda _: metrics.BACKEND_RETRIES.labels(self.backend).inc(),
        )
        async with self.slot():
            async for attempt in retrying:
                with attempt:
                    return await self.bounded(call)
        raise AssertionError("unreachable")  # pragma: no cover

    def slot(self) -> AbstractAsyncContextManager[None]:
        """One of the `concurrency` slots, for callers that run the attempt themselves (see `bounded`)."""
        return self._slots.slot()

    async def bounded(self, call: Callable[[], Awaitable[T]]) -> T:
        """One attempt of `call`, bounded by the policy's timeout (then a transient `timeout`)."""
        try:
            async with asyncio.timeout(self.policy.timeout_s):
                return await call()
        except TimeoutError as exc:
            message = f"no answer within {self.policy.timeout_s:g} s"
            raise TransientBackendError(self.backend, "timeout", message) from exc


class Readiness(BaseModel):
    """One backend's readiness, as /readyz reports it."""

    ready: bool
    detail: str = ""


def binary_readiness(binary: str) -> Readiness:
    """Ready when an executable the backend runs is on PATH."""
    import shutil

    path = shutil.which(binary)
    return Readiness(ready=path is not None, detail=f"{binary} found" if path else f"{binary} is not installed")


def hosts_readiness(label: str, states: Mapping[str, Readiness]) -> Readiness:
    """A pool of `label` hosts is ready when every host is; the detail names each host and what it said."""
    down = [f"{host} ({state.detail})" for host, state in states.items() if not state.ready]
    if down:
        return Readiness(ready=False, detail=f"{label} host down: " + ", ".join(down))
    up = [f"{host} ({state.detail})" if state.detail else host for host, state in states.items()]
    return Readiness(ready=True, detail=f"{len(states)} {label} host(s) up: " + ", ".join(up))


class Backend(Protocol):
    """What every backend has besides its stage's method: a readiness check and a close."""

    async def ready(self) -> Readiness: ...

    async def aclose(self) -> None: ...
