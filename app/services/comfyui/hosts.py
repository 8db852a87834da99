"""Several ComfyUI hosts, each running one of our jobs at a time.

A ComfyUI server runs one prompt at a time anyway; queueing two jobs on one host while another
idles doubles the wait. So a job leases a free host (the one idle longest, which also moves a
retry off the host that just failed), holds it until its outputs are fetched, and gives it back;
when every host is busy the job waits. The lease board is shared by all ComfyUI backends of the
process (keyframes and clips use the same hosts), one board per event loop.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from app.core.errors import TransientBackendError
from app.services.backend import Readiness
from app.services.comfyui.protocol import BACKEND

_BOARDS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, HostBoard] = weakref.WeakKeyDictionary()


class HostBoard:
    """Which hosts are leased; a lease waits until one of the wanted hosts is free."""

    def __init__(self) -> None:
        self._busy: set[str] = set()
        self._last_used: dict[str, float] = {}
        self._changed = asyncio.Condition()

    @property
    def busy(self) -> frozenset[str]:
        return frozenset(self._busy)

    @asynccontextmanager
    async def lease(self, hosts: Sequence[str], *, wait_s: float) -> AsyncIterator[str]:
        """Hold one free host of `hosts` for the block; raise TransientBackendError if none frees up."""
        host = await self._acquire(hosts, wait_s)
        try:
            yield host
        finally:
            await self._release(host)

    async def _acquire(self, hosts: Sequence[str], wait_s: float) -> str:
        async with self._changed:
            try:
                async with asyncio.timeout(wait_s):
                    await self._changed.wait_for(lambda: any(h not in self._busy for h in hosts))
            except TimeoutError:
                raise TransientBackendError(BACKEND, "hosts_busy",
                                            f"no ComfyUI host became free within {wait_s:g} s") from None
            host = min((h for h in hosts if h not in self._busy), key=lambda h: self._last_used.get(h, 0.0))
            self._busy.add(host)
            return host

    async def _release(self, host: str) -> None:
        async with self._changed:
            self._busy.discard(host)
            self._last_used[host] = time.monotonic()
            self._changed.notify_all()


def board() -> HostBoard:
    """The running event loop's lease board."""
    loop = asyncio.get_running_loop()
    found = _BOARDS.get(loop)
    if found is None:
        found = _BOARDS[loop] = HostBoard()
    return found


def hosts_readiness(states: dict[str, str | None]) -> Readiness:
    """Ready when every host answered; `states` maps host → None when up, else why it is down."""
    down = [f"{host} ({why})" for host, why in states.items() if why is not None]
    if down:
        return Readiness(ready=False, detail="ComfyUI host down: " + ", ".join(down))
    return Readiness(ready=True, detail=f"{len(states)} ComfyUI host(s) up: " + ", ".join(states))
