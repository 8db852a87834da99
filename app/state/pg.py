"""The PostgreSQL state store (scale-out mode): stories and operations as JSONB rows.

A change is `SELECT … FOR UPDATE`, the change applied in Python, `UPDATE`, in one transaction: writers
on any number of machines are serialized per row, and a killed process leaves the previous row (a
transaction is all or nothing). Media files stay local: `assets_dir` is this process's working folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from app.models.operation import Operation
from app.models.story import Story, utcnow
from app.state.events import EventLog

T = TypeVar("T", Story, Operation)
Connection = AsyncConnection[DictRow]
#: Called inside the admission transaction, after the rows are written (defers the job).
InTransaction = Callable[[Connection], Awaitable[None]]


def make_pool(dsn: str, *, size: int, name: str = "state") -> AsyncConnectionPool[Connection]:
    """A pool of autocommit-off connections that return rows as dicts; opened by `await pool.open()`."""
    return AsyncConnectionPool(dsn, min_size=1, max_size=size, open=False, name=name,
                               kwargs={"row_factory": dict_row}, connection_class=AsyncConnection[DictRow])


class PgStateStore:
    def __init__(self, pool: AsyncConnectionPool[Connection], data_dir: Path):
        self.pool = pool
        self.data_dir = data_dir
        #: the operations' event streams stay files of this process's DATA_DIR (an SSE stream sees the events
        #: of operations whose worker shares that folder; docs/scale-out.md)
        self.events = EventLog(data_dir)

    def assets_dir(self, story_id: str) -> Path:
        return self.data_dir / "stories" / story_id / "assets"

    def close(self) -> None:
        """The pool is closed by its owner (it is shared with the queue and the outbox)."""

    # --- reads -----------------------------------------------------------------------------
    async def get_story(self, story_id: str) -> Story | None:
        row = await self._one("SELECT data FROM s2v_stories WHERE story_id = %s", story_id)
        return None if row is None else Story.model_validate(row["data"])

    async def get_operation(self, operation_id: str) -> Operation | None:
        row = await self._one("SELECT data FROM s2v_operations WHERE operation_id = %s", operation_id)
        return None if row is None else Operation.model_validate(row["data"])

    async def list_operations(self) -> list[Operation]:
        async with self.pool.connection() as conn:
            rows = await (await conn.execute("SELECT data FROM s2v_operations ORDER BY created_at")).fetchall()
        return [Operation.model_validate(r["data"]) for r in rows]

    async def pending_operations(self) -> list[Operation]:
        """Operations not yet terminal, oldest first."""
        async with self.pool.connection() as conn:
            rows = await (await conn.execute("SELECT data FROM s2v_operations WHERE status IN ('queued', 'running') "
                                             "ORDER BY created_at")).fetchall()
        return [Operation.model_validate(r["data"]) for r in rows]

    async def story_ids_of(self, user_id: str, *, limit: int = 100) -> list[str]:
        async with self.pool.connection() as conn:
            rows = await (await conn.execute("SELECT story_id FROM s2v_stories WHERE user_id = %s "
                                             "ORDER BY story_id LIMIT %s", (user_id, limit))).fetchall()
        return [str(r["story_id"]) for r in rows]

    async def free_bytes(self) -> int:
        """Free space where this process keeps its working files (the state itself is in PostgreSQL)."""
        folder = self.data_dir
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        return shutil.disk_usage(folder).free

    # --- writes ----------------------------------------------------------------------------
    async def put_story(self, story: Story) -> None:
        async with self.pool.connection() as conn:
            await _upsert_story(conn, story)

    async def delete_story(self, story_id: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM s2v_stories WHERE story_id = %s", (story_id,))

    async def put_operation(self, op: Operation) -> None:
        async with self.pool.connection() as conn:
            await _upsert_operation(conn, op)

    async def update_story(self, story_id: str, change: Callable[[Story], None]) -> Story:
        async with self.pool.connection() as conn, conn.transaction():
            row = await (await conn.execute("SELECT data FROM s2v_stories WHERE story_id = %s FOR UPDATE",
                                            (story_id,))).fetchone()
            if row is None:
                raise KeyError(story_id)
            story = Story.model_validate(row["data"])
            change(story)
            await _upsert_story(conn, story)
            return story

    async def update_operation(self, operation_id: str, change: Callable[[Operation], None]) -> Operation:
        async with self.pool.connection() as conn, conn.transaction():
            row = await (await conn.execute("SELECT data FROM s2v_operations WHERE operation_id = %s FOR UPDATE",
                                            (operation_id,))).fetchone()
            if row is None:
                raise KeyError(operation_id)
            op = Operation.model_validate(row["data"])
            change(op)
            await _upsert_operation(conn, op)
            return op

    async def admit(self, op: Operation, new_story: Story | None, then: InTransaction) -> Operation | None:
        """Store an accepted operation (and the story it creates) and run `then` (the job's deferral) in one
        transaction, serialized per story across processes. Returns the operation already stored under
        this id (nothing written) or None when this one was stored."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"story:{op.story_id}",))
            existing = await (await conn.execute("SELECT data FROM s2v_operations WHERE operation_id = %s",
                                                 (op.operation_id,))).fetchone()
            if existing is not None:
                return Operation.model_validate(existing["data"])
            if new_story is not None:
                new_story.updated_at = utcnow()
                await conn.execute("INSERT INTO s2v_stories (story_id, user_id, data) VALUES (%s, %s, %s) "
                                   "ON CONFLICT (story_id) DO NOTHING",
                                   (new_story.story_id, new_story.user_id, Jsonb(new_story.model_dump(mode="json"))))
            await _upsert_operation(conn, op)
            await then(conn)
        return None

    async def import_story(self, story: Story) -> bool:
        """Insert a story unless one with its id exists (db import-json)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("INSERT INTO s2v_stories (story_id, user_id, data, updated_at) "
                                     "VALUES (%s, %s, %s, %s) ON CONFLICT (story_id) DO NOTHING",
                                     (story.story_id, story.user_id, Jsonb(story.model_dump(mode="json")),
                                      story.updated_at))
            return cur.rowcount == 1

    async def _one(self, query: str, *args: Any) -> DictRow | None:
        async with self.pool.connection() as conn:
            return await (await conn.execute(query, args)).fetchone()


async def _upsert_story(conn: Connection, story: Story) -> None:
    story.updated_at = utcnow()
    await conn.execute("INSERT INTO s2v_stories (story_id, user_id, data, updated_at) VALUES (%s, %s, %s, now()) "
                       "ON CONFLICT (story_id) DO UPDATE SET user_id = EXCLUDED.user_id, data = EXCLUDED.data, "
                       "updated_at = now()",
                       (story.story_id, story.user_id, Jsonb(story.model_dump(mode="json"))))


async def _upsert_operation(conn: Connection, op: Operation) -> None:
    op.updated_at = utcnow()
    await conn.execute("INSERT INTO s2v_operations (operation_id, story_id, status, data, created_at, updated_at) "
                       "VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (operation_id) DO UPDATE SET "
                       "status = EXCLUDED.status, data = EXCLUDED.data, updated_at = now()",
                       (op.operation_id, op.story_id, str(op.status), Jsonb(op.model_dump(mode="json")),
                        op.created_at))
