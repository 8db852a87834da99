"""Locks by key that exist only while someone holds or waits for them (no per-key memory growth)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLock:
    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, *keys: str) -> AsyncIterator[None]:
        """Hold the locks of `keys` (taken in sorted order, so two holders never deadlock)."""
        ordered = sorted(set(keys))
        locks = [self._enter(key) for key in ordered]
        try:
            for lock in locks:
                await lock.acquire()
            try:
                yield
            finally:
                for lock in reversed(locks):
                    lock.release()
        finally:
            for key in ordered:
                self._leave(key)

    def _enter(self, key: str) -> asyncio.Lock:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        return lock

    def _leave(self, key: str) -> None:
        lock, users = self._locks[key]
        if users <= 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)
