"""The state store: its protocol (`StateStore`) and the embedded implementation, JSON files under DATA_DIR.

`PgStateStore` (`app/state/pg.py`) is the other implementation, for the scale-out mode (DATABASE_URL).


Writes to one story or operation are serialized by an asyncio lock (within this process) and a
file lock (across processes sharing the folder; 64 striped lock files, so `locks/` does not grow); a
read-modify-write is one job on the pool, and a write begun always finishes before the next starts.
File I/O runs on the store's own thread pool, off the event loop and never queued behind media work
(card drawing, FFmpeg pipe pumps and SDK calls use the default pool).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import threading
import zlib
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

from app.models.operation import Operation
from app.models.story import Story, utcnow
from app.state.atomic import atomic_write_json, read_json
from app.state.events import EventLog

T = TypeVar("T", Story, Operation)
R = TypeVar("R")
#: File locks are striped over this many files: enough to keep unrelated writers apart.
LOCK_STRIPES = 64


class StateStore(Protocol):
    """What the pipeline and the API ask of the state: stories and operations, read and changed atomically.

    Media files are not state: `assets_dir` is this process's local working folder for a story."""

    #: every operation's callback events in order (what the SSE stream reads)
    events: EventLog

    def assets_dir(self, story_id: str) -> Path: ...
    def close(self) -> None: ...
    async def get_story(self, story_id: str) -> Story | None: ...
    async def get_operation(self, operation_id: str) -> Operation | None: ...
    async def list_operations(self) -> list[Operation]: ...
    async def story_ids_of(self, user_id: str, *, limit: int = 100) -> list[str]: ...
    async def put_story(self, story: Story) -> None: ...
    async def delete_story(self, story_id: str) -> None: ...
    async def free_bytes(self) -> int: ...
    async def put_operation(self, op: Operation) -> None: ...
    async def update_story(self, story_id: str, change: Callable[[Story], None]) -> Story: ...
    async def update_operation(self, operation_id: str, change: Callable[[Operation], None]) -> Operation: ...


class JsonStateStore:
    """The embedded state store: one JSON file per story and per operation, written atomically."""

    def __init__(self, data_dir: Path, *, io_threads: int = 8):
        self.data_dir = data_dir
        self.stories_dir = data_dir / "stories"
        self.operations_dir = data_dir / "operations"
        self.locks_dir = data_dir / "locks"
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._files = _StripeFiles(self.locks_dir)
        self._io = ThreadPoolExecutor(max_workers=io_threads, thread_name_prefix="state-io")

        #: every callback event of each operation, in order (the SSE stream reads it)
        self.events = EventLog(data_dir)

    async def io(self, fn: Callable[..., R], *args: Any) -> R:
        """Run blocking file work on the state pool."""
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    def close(self) -> None:
        self._io.shutdown(wait=True)
        self._files.close()

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
        return await self.io(_load, self._story_path(story_id), Story)

    async def get_operation(self, operation_id: str) -> Operation | None:
        return await self.io(_load, self._operation_path(operation_id), Operation)

    async def list_operations(self) -> list[Operation]:
        def scan() -> list[Operation]:
            paths = sorted(self.operations_dir.glob("*.json")) if self.operations_dir.exists() else []
            return [op for op in (_load(p, Operation) for p in paths) if op is not None]

        return await self.io(scan)

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

        return await self.io(scan)

    # --- writes ----------------------------------------------------------------------------
    async def put_story(self, story: Story) -> None:
        """Write a story; a failed first write leaves no folder behind."""
        def put(path: Path) -> None:
            folder = path.parent
            existed = folder.exists()
            try:
                _write(path, story)
            except OSError:
                if not existed:
                    shutil.rmtree(folder, True)
                raise

        await self._locked_io(f"story-{story.story_id}", put, self._story_path(story.story_id))

    async def delete_story(self, story_id: str) -> None:
        """Remove a story's folder (a create whose operation could not be written)."""
        await self._locked_io(f"story-{story_id}", lambda folder: shutil.rmtree(folder, True),
                              self.story_dir(story_id))

    async def free_bytes(self) -> int:
        """Free space on the file system that holds the state."""
        def free() -> int:
            folder = self.data_dir
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
            return shutil.disk_usage(folder).free

        return await self.io(free)

    async def put_operation(self, op: Operation) -> None:
        await self._locked_io(f"op-{op.operation_id}", _write, self._operation_path(op.operation_id), op)

    async def update_story(self, story_id: str, change: Callable[[Story], None]) -> Story:
        """Load, apply `change` in place, save — atomically with respect to other writers."""
        return await self._locked_io(f"story-{story_id}", _update, self._story_path(story_id), Story, change)

    async def update_operation(self, operation_id: str, change: Callable[[Operation], None]) -> Operation:
        return await self._locked_io(f"op-{operation_id}", _update, self._operation_path(operation_id), Operation,
                                     change)

    async def _locked_io(self, name: str, fn: Callable[..., R], *args: Any) -> R:
        """Run `fn` on the state pool holding the name's locks: this process's asyncio lock (so writers
        queue here, not on pool threads) and its file lock (other processes), taken and released in the
        same thread job. A cancelled caller still waits for a write begun, so no later write of the same
        record can start before it lands and be overwritten by it."""
        stripe = zlib.crc32(name.encode()) % LOCK_STRIPES
        async with self._locks[stripe]:
            job = asyncio.get_running_loop().run_in_executor(self._io, self._files.holding, stripe, fn, *args)
            try:
                return await asyncio.shield(job)
            except asyncio.CancelledError:
                await asyncio.wait({job})
                raise


class _StripeFiles:
    """The stripes' lock files, each opened once and locked with flock(2) around a job. Within this
    process the stripe's asyncio lock already admits one job at a time; the file lock keeps other
    processes out. A blocking flock: no polling and no path resolution per write. Opened read-only
    (flock needs no more), so they never keep the file system from being remounted read-only."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._fds: dict[int, int] = {}
        self._opening = threading.Lock()

    def holding(self, stripe: int, fn: Callable[..., R], *args: Any) -> R:
        fd = self._fd(stripe)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            return fn(*args)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _fd(self, stripe: int) -> int:
        with self._opening:
            if stripe not in self._fds:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._fds[stripe] = os.open(self.folder / f"{stripe:02d}.lock", os.O_RDONLY | os.O_CREAT, 0o644)
            return self._fds[stripe]

    def close(self) -> None:
        with self._opening:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()


def _update(path: Path, model: type[T], change: Callable[[T], None]) -> T:
    current = _load(path, model)
    if current is None:
        raise KeyError(path.stem)
    change(current)
    _write(path, current)
    return current


def _write(path: Path, value: Story | Operation) -> None:
    value.updated_at = utcnow()
    atomic_write_json(path, value.model_dump(mode="json"))


def _load(path: Path, model: type[T]) -> T | None:
    raw = read_json(path)
    return None if raw is None else model.model_validate(raw)


