"""Process pools for the embedded backends' CPU work (planning, drawing cards), below the API's priority.

The processes are spawned (no inherited event loop or threads) and lower their own priority first, so on
a machine whose cores they fill the API process still answers at once (as FFmpeg does with FFMPEG_NICE).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor


def worker_pool(processes: int, nice: int, initializer: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start, initargs=(nice, initializer))


def _start(nice: int, initializer: Callable[[], None] | None) -> None:
    if nice:
        os.nice(nice)
    if initializer is not None:
        initializer()
