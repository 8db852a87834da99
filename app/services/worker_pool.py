"""CPU work below the API's priority: process pools for the embedded backends (planning, drawing cards)
and the command line of a niced child process (FFmpeg, espeak-ng).

The processes are spawned (no inherited event loop or threads) and lower their own priority first, so on
a machine whose cores they fill the API process still answers at once (as FFmpeg does with FFMPEG_NICE).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from app.core.settings import Settings

T = TypeVar("T")
#: How often a worker process looks whether the service that started it still lives.
PARENT_CHECK_S = 0.5


def niced(argv: list[str], nice: int) -> list[str]:
    """`argv` run through nice(1) at `nice` (as is without one). Not a preexec_fn: with one, Python forks
    the whole service in the event-loop thread for every process it starts; without, it can vfork."""
    return ["nice", "-n", str(nice), *argv] if nice else argv


def worker_pool(processes: int, nice: int, initializer: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start, initargs=(nice, initializer))


def _start(nice: int, initializer: Callable[[], None] | None) -> None:
    parent = os.getppid()
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()
    if nice:
        os.nice(nice)
    if initializer is not None:
        initializer()


def _exit_with(parent: int) -> None:
    """End this worker when the service that started it is gone (a SIGKILL gives the pool no chance to
    stop it, and a worker holds its own end of the task queue, so it would wait on it forever — keeping
    the service's stdout and the pool's files open)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


class CpuWork:
    """CPU work in `processes` worker processes at `nice` (the pool started on first use, or by `start`),
    or, with no processes, in a thread (for tests and tiny machines). The embedded planner and card
    renderer each keep one; the pipeline keeps one for its own work (the contact sheet)."""

    def __init__(self, processes: int = 0, nice: int = 0, initializer: Callable[[], None] | None = None):
        self.processes = processes
        self.nice = nice
        self.initializer = initializer
        self._pool: ProcessPoolExecutor | None = None

    @classmethod
    def configured(cls, settings: Settings, initializer: Callable[[], None] | None = None) -> CpuWork:
        """Sized and niced by EMBEDDED_PROCESSES and EMBEDDED_NICE."""
        return cls(settings.work.EMBEDDED_PROCESSES, settings.work.EMBEDDED_NICE, initializer)

    @property
    def where(self) -> str:
        return f"{self.processes} processes" if self.processes else "a thread"

    def start(self) -> None:
        """Start the worker processes now (their initializer runs before the first task needs it)."""
        if self.processes:
            self._started().submit(abs, 0)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if not self.processes:
            return await asyncio.to_thread(fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._started(), fn, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = worker_pool(self.processes, self.nice, self.initializer)
        return self._pool
