"""A stage's backends in order: the configured one first, then its fallbacks.

`StageChain.call(fn)` runs `fn(backend)` on the first backend; if that fails, on the next, and so
on. The outcome names the backend that produced the result and, when it was not the first, why the
ones before it failed — the shot stores that as `degraded`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from loguru import logger

from app.core import metrics
from app.core.errors import describe
from app.services.backend import Backend, Readiness

T = TypeVar("T")
B = TypeVar("B")



@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T
    backend: str
    #: None when the first backend succeeded; else why it (and any after it) failed
    degraded: str | None = None


@dataclass(frozen=True)
class NamedBackend(Generic[B]):
    name: str
    impl: B


class StageChain(Generic[B]):
    def __init__(self, stage: str, backends: Sequence[tuple[str, B]]):
        if not backends:
            raise ValueError(f"stage {stage} has no backend")
        self.stage = stage
        self.backends = [NamedBackend(name, impl) for name, impl in backends]

    @property
    def names(self) -> list[str]:
        return [b.name for b in self.backends]

    async def call(self, fn: Callable[[B], Awaitable[T]]) -> Outcome[T]:
        """Run `fn` on each backend in turn until one succeeds; raise the last failure if none does."""
        reasons: list[str] = []
        for index, backend in enumerate(self.backends):
            try:
                with metrics.backend_call(self.stage, backend.name):
                    value = await fn(backend.impl)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reasons.append(f"{backend.name}: {describe(exc)}")
                if index == len(self.backends) - 1:
                    raise
                logger.warning("{} backend {} failed ({}); falling back to {}", self.stage, backend.name,
                               describe(exc), self.backends[index + 1].name)
                continue
            if index:
                metrics.BACKEND_FALLBACKS.labels(self.stage, backend.name).inc()
            return Outcome(value=value, backend=backend.name, degraded="; ".join(reasons) or None)
        raise AssertionError("unreachable")  # pragma: no cover

    async def readiness(self) -> dict[str, Readiness]:
        return {b.name: await check_ready(b.impl) for b in self.backends}  # type: ignore[arg-type]


async def check_ready(impl: Backend, timeout_s: float = 5.0) -> Readiness:
    """A backend's own readiness check, bounded; a failing check is a "not ready", never an error."""
    try:
        async with asyncio.timeout(timeout_s):
            return await impl.ready()
    except Exception as exc:
        return Readiness(ready=False, detail=describe(exc))
