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
        #: waiting operation id → its story id
        self._story_of: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._story_of)

    def push(self, entry: Entry) -> None:
        self._stories.setdefault(entry.story_id, deque()).append(entry.operation_id)
        self._story_of[entry.operation_id] = entry.story_id

    def remove(self, operation_id: str) -> bool:
        """Drop a waiting operation (cancelled before it ran); False if it is not waiting."""
        story_id = self._story_of.pop(operation_id, None)
        if story_id is None:
            return False
        waiting = self._stories[story_id]
        waiting.remove(operation_id)
        if not waiting:
            del self._stories[story_id]
        return True

    def next_ready(self) -> Entry | None:
        """Take the head of the first story in the ring that is not busy, and move that story to the back."""
        for story_id in list(self._stories):
            if story_id in self._busy:
                continue
            waiting = self._stories.pop(story_id)
            operation_id = waiting.popleft()
            if waiting:
                self._stories[story_id] = waiting  # re-enters at the back of the ring
            del self._story_of[operation_id]
            self._busy.add(story_id)
            return Entry(operation_id, story_id)
        return None

    def done(self, story_id: str) -> None:
        """The story's running operation ended: its next one may run."""
        self._busy.discard(story_id)

    def position(self, operation_id: str) -> int | None:
        """1-based place among waiting operations if every slot were to take them in turn, else None.

        Taken in turn, the ring yields every story's first operation, then every second one, and so on:
        an operation at depth d of its story comes after all operations at smaller depths, and after
        the operations at depth d of the stories ahead of its own in the ring."""
        story_id = self._story_of.get(operation_id)
        if story_id is None:
            return None
        depth = self._stories[story_id].index(operation_id)
        if depth == 0 and next(reversed(self._stories)) == story_id:
            return len(self._stories)  # the usual answer to an admission: a new story's first operation
        place, ahead = 1, True
        for other, waiting in self._stories.items():
            if other == story_id:
                ahead = False
            place += min(len(waiting), depth + (1 if ahead else 0))
        return place
