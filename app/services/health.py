"""What the service's background machinery reports about itself, and a supervisor that keeps it running.

`/readyz` shows every component that is failing right now (degraded), with its last error; a task that
dies is restarted with backoff and logged, never left dead in silence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from loguru import logger

from app.core.errors import describe
from app.services.backend import backoff_s


class Health:
    def __init__(self) -> None:
        self._failing: dict[str, tuple[str, float]] = {}

    def failing(self, component: str, reason: str) -> None:
        if component not in self._failing:
            logger.error("{} is failing: {}", component, reason)
        self._failing[component] = (reason, self._failing.get(component, (reason, time.time()))[1])

    def ok(self, component: str) -> None:
        if self._failing.pop(component, None) is not None:
            logger.info("{} recovered", component)

    def report(self) -> dict[str, dict[str, object]]:
        """Failing components: their last error and since when (epoch seconds)."""
        return {name: {"error": reason, "since": since} for name, (reason, since) in self._failing.items()}


async def supervise(component: str, run: Callable[[], Awaitable[None]], health: Health, *,
                    base_s: float = 0.5, max_s: float = 30.0) -> None:
    """Run `run()` until it returns; when it raises, log it, mark the component failing, wait and restart."""
    failures = 0
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            logger.opt(exception=exc).error("{} crashed (restart {})", component, failures)
            health.failing(component, describe(exc))
            await asyncio.sleep(backoff_s(failures, base_s=base_s, max_s=max_s))
