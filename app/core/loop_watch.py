"""A watchdog for the event loop: a thread that logs an error, with what the loop thread was running,
whenever the loop has not ticked for longer than a limit (LOOP_BLOCK_LIMIT_S).

A heartbeat task stamps the time every quarter of the limit; the thread checks the stamp as often. It
costs a wake-up per period and nothing per callback, unlike asyncio's debug mode, so it can stay on in
production and under benchmarks without changing what they measure.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback

from loguru import logger


class LoopWatch:
    def __init__(self, limit_s: float):
        self.limit_s = limit_s
        self.period_s = limit_s / 4
        self.blocks = 0
        self._beat = time.monotonic()
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._loop_thread = threading.get_ident()

    def start(self) -> None:
        """Start watching the running loop (call from it)."""
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._heartbeat(), name="loop watch")
        self._thread = threading.Thread(target=self._watch, name="loop-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
        if self._thread is not None:
            self._thread.join(timeout=1)

    async def _heartbeat(self) -> None:
        while True:
            self._beat = time.monotonic()
            await asyncio.sleep(self.period_s)

    def _watch(self) -> None:
        stalled_since: float | None = None
        while not self._stop.wait(self.period_s):
            late = time.monotonic() - self._beat - self.period_s
            if late > self.limit_s and stalled_since is None:
                stalled_since = self._beat
                self.blocks += 1
                logger.error("event loop blocked for {:.3f} s so far, in:\n{}", late, self._loop_stack())
            elif late <= self.limit_s and stalled_since is not None:
                logger.error("event loop blocked: it ran again after {:.3f} s", self._beat - stalled_since)
                stalled_since = None

    def _loop_stack(self) -> str:
        frame = sys._current_frames().get(self._loop_thread)
        return "".join(traceback.format_stack(frame, limit=12)) if frame is not None else "(no frame)"
