"""When to read a remote job's state again: soon when it should be done, rarely while it cannot be.

A fixed poll interval costs up to one interval per job, during which the GPU that finished it idles
(a 2 s poll on a 4 s job is 50 %). `Pacer` waits for the job's estimated end instead, taken from the
progress the server reports (steps done of total, seen at two moments), but never longer than the
configured interval; when there is no estimate, or it has passed, it re-reads after `first_s` and
doubles the wait up to the interval. A few extra cheap reads per job buy back the idle GPU time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: The first short wait, doubled on each read that still finds the job unfinished.
FIRST_S = 0.05


class Pacer:
    def __init__(self, interval_s: float, *, first_s: float = FIRST_S, clock: Callable[[], float] = time.monotonic):
        self.interval_s = interval_s
        self.first_s = min(first_s, interval_s)
        self.clock = clock
        self._short = self.first_s
        self._start: tuple[float, int] | None = None

    def next_s(self, step: int | None = None, total: int | None = None) -> float:
        """The wait before the next read, after one that found the job at `step` of `total` (None: unknown)."""
        left = self._time_left(step, total)
        if left is not None and left >= self.first_s:
            self._short = self.first_s
            return min(left, self.interval_s)
        wait, self._short = self._short, min(self._short * 2, self.interval_s)
        return wait

    def _time_left(self, step: int | None, total: int | None) -> float | None:
        """Seconds to the job's end at the rate seen so far; None without two readings that moved."""
        if step is None or not total:
            return None
        now = self.clock()
        if self._start is None or step < self._start[1]:
            self._start = (now, step)
            return None
        since, first = self._start
        if step == first or now <= since:
            return None
        return max(total - step, 0) * (now - since) / (step - first)
