"""Waiting for an operation to end, for requests that answer synchronously (SYNC_WAIT_S, `Prefer: wait`).

A waiter is one future in a dict, woken by the runner when the operation it runs ends
(`OperationWaiter.finished`): no thread, no worker and no polling loop per request, so many waiting
requests cost little. An operation this process does not run (another process sharing DATA_DIR
admitted it, or it is left over from a crash) cannot signal here, so for those the waiter re-reads the
state store every `poll_s` seconds; for the ones it runs, a re-read every `local_poll_s` is only a
safety net.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from app.models.operation import Operation
from app.state.store import StateStore


class OperationWaiter:
    def __init__(self, store: StateStore, *, is_local: Callable[[str], bool] = lambda _: False,
                 poll_s: float = 2.0, local_poll_s: float = 30.0):
        self.store = store
        self.is_local = is_local
        self.poll_s = poll_s
        self.local_poll_s = local_poll_s
        self._waiting: dict[str, set[asyncio.Future[None]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        #: set when the service stops: every wait returns at once, so shutdown need not wait them out
        self.released = False

    @property
    def waiting(self) -> int:
        """How many requests are waiting now (for tests and benchmarks)."""
        return sum(len(futures) for futures in self._waiting.values())

    def release_all(self) -> None:
        """The service is stopping: end every wait now and any later one at once. Safe to call from a
        signal handler (it only sets a flag and schedules the wake-up on the loop)."""
        self.released = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake_all)

    def _wake_all(self) -> None:
        for operation_id in list(self._waiting):
            self.finished(operation_id)

    def finished(self, operation_id: str) -> None:
        """The operation ended (or stopped running here): wake everyone waiting for it."""
        for future in self._waiting.pop(operation_id, ()):
            if not future.done():
                future.set_result(None)

    async def wait(self, operation_id: str, timeout_s: float) -> Operation | None:
        """The operation once it is terminal, or as it is after `timeout_s`; None if it does not exist."""
        loop = self._loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout_s, 0.0)
        while True:
            # Registered before the read: an end signalled between the read and the wait is not missed.
            future: asyncio.Future[None] = loop.create_future()
            self._waiting.setdefault(operation_id, set()).add(future)
            try:
                op = await self.store.get_operation(operation_id)
                remaining = deadline - loop.time()
                if op is None or op.status.terminal or remaining <= 0 or self.released:
                    return op
                interval = self.local_poll_s if self.is_local(operation_id) else self.poll_s
                await asyncio.wait({future}, timeout=min(remaining, interval * random.uniform(0.8, 1.0)))
            finally:
                self._forget(operation_id, future)

    def _forget(self, operation_id: str, future: asyncio.Future[None]) -> None:
        futures = self._waiting.get(operation_id)
        if futures is not None:
            futures.discard(future)
            if not futures:
                del self._waiting[operation_id]
        if not future.done():
            future.cancel()
