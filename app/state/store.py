"""The JSON state store: stories and operations under DATA_DIR, written atomically.

Writes to one story or operation are serialized by an asyncio lock (within this process) and a
file lock (across processes sharing the folder). File I/O runs in threads, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

from app.models.operation import Operation
from app.models.story import Story, utcnow
from app.state.atomic import atomic_write_json, read_json
from app.state.events import EventLog

T = TypeVar("T", Story, Operation)


class StateStore:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.stories_dir = data_dir / "stories"
        self.operations_dir = data_dir / "operations"
        self.locks_dir = data_dir / "locks"
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        #: every callback event of each operation, in order (the SSE stream reads it)
        self.events = EventLog(data_dir)

    # --- paths -----------------------------------------------------------------------------
    def story_dir(self, story_id: str) -> Path:
        return self.stories_dir / story_id

    def assets_dir(self, story_id: str) -> Path:
        return self.story_dir(story_id) / "assets"

    def _story_path(self, story_id: str) -> Path:
        return self.story_dir(story_id) / "story.json"

    def _operation_path(self, operation_id: str) -> Path:
        return self.operations_dir / f"{operation_id}.json"

    # --- reads -----------------------------------------------------------------------------
    async def get_story(self, story_id: str) -> Story | None:
        return await asyncio.to_thread(_load, self._story_path(story_id), Story)

    async def get_operation(self, operation_id: str) -> Operation | None:
        return await asyncio.to_thread(_load, self._operation_path(operation_id), Operation)

    async def list_operations(self) -> list[Operation]:
        paths = sorted(self.operations_dir.glob("*.json")) if self.operations_dir.exists() else []
        ops = [await asyncio.to_thread(_load, p, Operation) for p in paths]
        return [op for op in ops if op is not None]

    async def story_ids_of(self, user_id: str, *, limit: int = 100) -> list[str]:
        """Ids of the stories a user owns (a scan; for error messages, not hot paths)."""

        def scan() -> list[str]:
            if not self.stories_dir.exists():
                return []
            found = []
            for path in sorted(self.stories_dir.glob("*/story.json")):
                story = _load(path, Story)
                if story is not None and story.user_id == user_id:
                    found.append(story.story_id)
                if len(found) >= limit:
                    break
            return found

        return await asyncio.to_thread(scan)

    # --- writes ----------------------------------------------------------------------------
    async def put_story(self, story: Story) -> None:
        async with self._locked(f"story-{story.story_id}"):
            await self._write(self._story_path(story.story_id), story)

    async def put_operation(self, op: Operation) -> None:
        async with self._locked(f"op-{op.operation_id}"):
            await self._write(self._operation_path(op.operation_id), op)

    async def update_story(self, story_id: str, change: Callable[[Story], None]) -> Story:
        """Load, apply `change` in place, save — atomically with respect to other writers."""
        return await self._update(f"story-{story_id}", self._story_path(story_id), Story, change)

    async def update_operation(self, operation_id: str, change: Callable[[Operation], None]) -> Operation:
        return await self._update(f"op-{operation_id}", self._operation_path(operation_id), Operation, change)

    async def _update(self, lock_name: str, path: Path, model: type[T], change: Callable[[T], None]) -> T:
        async with self._locked(lock_name):
            current = await asyncio.to_thread(_load, path, model)
            if current is None:
                raise KeyError(path.stem)
            change(current)
            await self._write(path, current)
            return current

    async def _write(self, path: Path, value: Story | Operation) -> None:
        value.updated_at = utcnow()
        await asyncio.to_thread(atomic_write_json, path, value.model_dump(mode="json"))

    @asynccontextmanager
    async def _locked(self, name: str) -> AsyncIterator[None]:
        async with self._locks[name]:
            self.locks_dir.mkdir(parents=True, exist_ok=True)
            file_lock = FileLock(self.locks_dir / f"{name}.lock")
            await asyncio.to_thread(file_lock.acquire)
            try:
                yield
            finally:
                file_lock.release()


def _load(path: Path, model: type[T]) -> T | None:
    raw = read_json(path)
    return None if raw is None else model.model_validate(raw)
