"""Which accepted operation runs next: acceptance order within a story, round-robin across stories.

Pure bookkeeping (no I/O, no asyncio): the runner asks `next_ready()` whenever a slot frees up. A story
whose operation is running is skipped until it finishes, so operations on one story never overlap.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    operation_id: str
    story_id: str


class FairQueue:
    def __init__(self) -> None:
        #: story id → its waiting operations in acceptance order; the dict's order is the round-robin ring
        self._stories: OrderedDict[str, deque[str]] = OrderedDict()
        self._busy: set[str] = set()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def push(self, entry: Entry) -> None:
        self._stories.setdefault(entry.story_id, deque()).append(entry.operation_id)
        self._size += 1

    def remove(self, operation_id: str) -> bool:
        """Drop a waiting operation (cancelled before it ran); False if it is not waiting."""
        for story_id, waiting in self._stories.items():
            if operation_id in waiting:
                waiting.remove(operation_id)
                self._size -= 1
                if not waiting:
                    del self._stories[story_id]
                return True
        return False

    def next_ready(self) -> Entry | None:
        """Take the head of the first story in the ring that is not busy, and move that story to the back."""
        for story_id in list(self._stories):
            if story_id in self._busy:
                continue
            waiting = self._stories.pop(story_id)
            operation_id = waiting.popleft()
            if waiting:
                self._stories[story_id] = waiting  # re-enters at the back of the ring
            self._size -= 1
            self._busy.add(story_id)
            return Entry(operation_id, story_id)
        return None

    def done(self, story_id: str) -> None:
        """The story's running operation ended: its next one may run."""
        self._busy.discard(story_id)

    def position(self, operation_id: str) -> int | None:
        """1-based place among waiting operations if every slot were to take them in turn, else None."""
        order = self._round_robin_order()
        return order.index(operation_id) + 1 if operation_id in order else None

    def _round_robin_order(self) -> list[str]:
        queues = [list(q) for q in self._stories.values()]
        order: list[str] = []
        depth = 0
        while any(depth < len(q) for q in queues):
            order += [q[depth] for q in queues if depth < len(q)]
            depth += 1
        return order
