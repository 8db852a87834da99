"""CPU work below the API's priority: process pools for the embedded backends (planning, drawing cards)
and the command line of a niced child process (FFmpeg, espeak-ng).

The processes are spawned (no inherited event loop or threads) and lower their own priority first, so on
a machine whose cores they fill the API process still answers at once (as FFmpeg does with FFMPEG_NICE).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def niced(argv: list[str], nice: int) -> list[str]:
    """`argv` run through nice(1) at `nice` (as is without one). Not a preexec_fn: with one, Python forks
    the whole service in the event-loop thread for every process it starts; without, it can vfork."""
    return ["nice", "-n", str(nice), *argv] if nice else argv


def worker_pool(processes: int, nice: int, initializer: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start, initargs=(nice, initializer))


def _start(nice: int, initializer: Callable[[], None] | None) -> None:
    if nice:
        os.nice(nice)
    if initializer is not None:
        initializer()


class CpuWork:
    """Runs the pipeline's own CPU work (e.g. drawing the contact sheet) in `processes` worker processes
    at `nice`, started on first use; with no processes, in a thread (for tests and tiny machines)."""

    def __init__(self, processes: int = 0, nice: int = 0):
        self.processes = processes
        self.nice = nice
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if not self.processes:
            return await asyncio.to_thread(fn, *args)
        if self._pool is None:
            self._pool = worker_pool(self.processes, self.nice)
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
