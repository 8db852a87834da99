"""Slots of the GPU servers and APIs, handed out fairly between stories, and who is asking for them.

Every backend limits its own work: a ComfyUI or HunyuanVideo host runs one job at a time (`HostPool`
leases), a vendor API key or a local server takes `CONCURRENCY` calls (`FairSlots`). These limits are
the service's global ones: every operation's shots queue at the same slots. When a slot frees up it
goes to the story holding the fewest slots of that kind, then to the one served longest ago — so two
stories rendering at once share the GPUs round-robin instead of first come, all taken.

Who asks is the running task's `work_scope`: the pipeline opens one per shot with the story as the
owner and a report function; the slots report `waiting` when a shot has to queue and `rendering` when
it gets its slot, and backends report their own progress inside a job (`note_running(step, total)`).
Without a scope the work belongs to one anonymous owner and nothing is reported.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from app.core.errors import TransientBackendError

#: What a report says: the shot waits for a slot, or works on one (with the backend's step of total).
Report = Callable[[str, int | None, int | None], None]
WAITING, RENDERING = "waiting", "rendering"

_OWNER: ContextVar[str] = ContextVar("slot_owner", default="")
_REPORT: ContextVar[Report | None] = ContextVar("slot_report", default=None)

T = TypeVar("T")


@contextmanager
def work_scope(owner: str, report: Report | None = None) -> Iterator[None]:
    """Run the block's backend calls for `owner` (the fairness key), sending their state to `report`."""
    owner_token, report_token = _OWNER.set(owner), _REPORT.set(report)
    try:
        yield
    finally:
        _REPORT.reset(report_token)
        _OWNER.reset(owner_token)


def current_owner() -> str:
    return _OWNER.get()


def note_waiting() -> None:
    """The current work waits for a slot (a host, an API's queue)."""
    report = _REPORT.get()
    if report is not None:
        report(WAITING, None, None)


def note_running(step: int | None = None, total: int | None = None) -> None:
    """The current work runs on its slot, `step` of `total` done when the backend says."""
    report = _REPORT.get()
    if report is not None:
        report(RENDERING, step, total)


@dataclass(eq=False)
class _Waiter(Generic[T]):
    owner: str
    future: asyncio.Future[T]
    wants: Sequence[str] = ()


@dataclass
class _FairQueue(Generic[T]):
    """Waiters by owner. The next one served belongs to the owner holding fewest slots, then to the owner
    served longest ago; one owner's waiters are served in their order. An owner that neither waits nor holds
    anything is forgotten."""

    queues: dict[str, deque[_Waiter[T]]] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)
    _seq: Iterator[int] = field(default_factory=itertools.count)

    def push(self, waiter: _Waiter[T]) -> None:
        self.queues.setdefault(waiter.owner, deque()).append(waiter)

    def remove(self, waiter: _Waiter[T]) -> None:
        queue = self.queues.get(waiter.owner)
        if queue is not None and waiter in queue:
            queue.remove(waiter)
            if not queue:
                del self.queues[waiter.owner]
                self._forget_idle(waiter.owner)

    def in_turn(self) -> list[_Waiter[T]]:
        """Live waiters, the next to serve first."""
        owners = sorted(self.queues, key=lambda o: (self.held.get(o, 0), self.served.get(o, -1)))
        return [w for o in owners for w in self.queues[o] if not w.future.done()]

    def taken(self, owner: str) -> None:
        self.held[owner] = self.held.get(owner, 0) + 1
        self.served[owner] = next(self._seq)

    def given_back(self, owner: str) -> None:
        self.held[owner] -= 1
        self._forget_idle(owner)

    def _forget_idle(self, owner: str) -> None:
        if self.held.get(owner, 0) <= 0 and owner not in self.queues:
            self.held.pop(owner, None)
            self.served.pop(owner, None)


async def _await_turn(queue: _FairQueue[T], waiter: _Waiter[T], give_back: Callable[[T], None],
                      timeout_s: float | None) -> T:
    """Wait for `waiter` to be served; a slot served to a waiter that stopped waiting goes back."""
    note_waiting()
    try:
        async with asyncio.timeout(timeout_s):
            value = await waiter.future
    except BaseException:
        queue.remove(waiter)
        if waiter.future.done() and not waiter.future.cancelled():
            give_back(waiter.future.result())
        raise
    note_running()
    return value


class FairSlots:
    """At most `capacity` holders at once (0 = no limit), served fairly between owners."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._used = 0
        self._queue: _FairQueue[None] = _FairQueue()

    @property
    def in_use(self) -> int:
        return self._used

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        owner = current_owner()
        await self._acquire(owner)
        try:
            yield
        finally:
            self._release(owner)

    async def _acquire(self, owner: str) -> None:
        if self._free() and not self._queue.queues:
            self._take(owner)
            return
        waiter: _Waiter[None] = _Waiter(owner, asyncio.get_running_loop().create_future())
        self._queue.push(waiter)
        await _await_turn(self._queue, waiter, lambda _: self._release(owner), None)

    def _free(self) -> bool:
        return self.capacity <= 0 or self._used < self.capacity

    def _take(self, owner: str) -> None:
        self._used += 1
        self._queue.taken(owner)

    def _release(self, owner: str) -> None:
        self._used -= 1
        self._queue.given_back(owner)
        while self._free() and (waiting := self._queue.in_turn()):
            self._queue.remove(waiting[0])
            self._take(waiting[0].owner)
            waiting[0].future.set_result(None)


class Lease:
    """One host held by one job; give it back early with `release()` (e.g. once the GPU work is done and
    only the download is left), or mark it failed with `fail()` so other jobs avoid it for a while."""

    def __init__(self, pool: HostPool, host: str, owner: str):
        self.pool, self.host, self.owner = pool, host, owner
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.pool._give_back(self.host, self.owner)

    def fail(self, cooldown_s: float) -> None:
        """The host failed this job: skip it for `cooldown_s` while another host can take the work."""
        self.pool.cool_down(self.host, cooldown_s)


class HostPool:
    """Hosts that run one job each at a time, leased fairly between owners.

    A lease takes the free host of those wanted that was idle longest (which also moves a retry off the
    host that just failed). A host cooling down after a failure is taken only when every wanted host is
    cooling down, so a one-host pool behaves as before and a pool with a dead host keeps working.
    """

    def __init__(self) -> None:
        self._busy: set[str] = set()
        self._last_used: dict[str, float] = {}
        self._cooling: dict[str, float] = {}
        self._queue: _FairQueue[str] = _FairQueue()

    @property
    def busy(self) -> frozenset[str]:
        return frozenset(self._busy)

    def cooling(self, host: str) -> bool:
        return self._cooling.get(host, 0.0) > time.monotonic()

    @asynccontextmanager
    async def lease(self, hosts: Sequence[str], *, wait_s: float, backend: str,
                    label: str) -> AsyncIterator[Lease]:
        """Hold one of `hosts` for the block (or until `release()`); raise TransientBackendError
        `hosts_busy` when none frees up within `wait_s`."""
        owner = current_owner()
        host = self._pick(hosts)
        if host is not None and not self._queue.queues:
            self._take(host, owner)
        else:
            waiter: _Waiter[str] = _Waiter(owner, asyncio.get_running_loop().create_future(), tuple(hosts))
            self._queue.push(waiter)
            self._dispatch()
            try:
                host = await _await_turn(self._queue, waiter, lambda h: self._give_back(h, owner), wait_s)
            except TimeoutError:
                raise TransientBackendError(backend, "hosts_busy",
                                            f"no {label} host became free within {wait_s:g} s") from None
        lease = Lease(self, host, owner)
        try:
            yield lease
        finally:
            lease.release()

    def cool_down(self, host: str, seconds: float) -> None:
        if seconds <= 0:
            return
        self._cooling[host] = time.monotonic() + seconds
        asyncio.get_running_loop().call_later(seconds, self._dispatch)

    def _pick(self, hosts: Sequence[str]) -> str | None:
        """The host to lease of `hosts`, or None when the lease must wait."""
        free = [h for h in hosts if h not in self._busy]
        healthy = [h for h in free if not self.cooling(h)]
        if healthy:
            return min(healthy, key=lambda h: self._last_used.get(h, 0.0))
        if not free or any(not self.cooling(h) for h in hosts):
            return None  # wait for a busy host rather than take one that failed
        return min(free, key=lambda h: self._cooling[h])

    def _take(self, host: str, owner: str) -> None:
        self._busy.add(host)
        self._queue.taken(owner)

    def _give_back(self, host: str, owner: str) -> None:
        self._busy.discard(host)
        self._last_used[host] = time.monotonic()
        self._queue.given_back(owner)
        self._dispatch()

    def _dispatch(self) -> None:
        """Serve waiters in turn while any of them can have a host."""
        while True:
            served = next(((w, h) for w in self._queue.in_turn() if (h := self._pick(w.wants)) is not None), None)
            if served is None:
                return
            waiter, host = served
            self._queue.remove(waiter)
            self._take(host, waiter.owner)
            waiter.future.set_result(host)


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, HostPool] = weakref.WeakKeyDictionary()


def host_pool() -> HostPool:
    """The running event loop's host pool, shared by every backend that leases hosts (by URL)."""
    loop = asyncio.get_running_loop()
    found = _POOLS.get(loop)
    if found is None:
        found = _POOLS[loop] = HostPool()
    return found
