"""The callback outbox in PostgreSQL (scale-out mode): any process may deliver, each event by exactly one.

One row per event, written once (`INSERT … ON CONFLICT DO NOTHING` on the event id: an event re-emitted
after a crash is a no-op, and every retry sends the stored body under the same id). A delivery pass
claims, with `FOR UPDATE SKIP LOCKED`, only the oldest undelivered row of each operation, so events of
one operation go out in order whichever worker sends them, and two workers never send the same row at
once. A row stays locked while its POST is in flight; a delivered row keeps `delivered_at`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from loguru import logger
from psycopg_pool import AsyncConnectionPool

from app.core.errors import describe
from app.core.settings import Settings
from app.models.events import CallbackEvent
from app.services.backend import backoff_s
from app.services.callbacks.outbox import COMPONENT, post_event
from app.services.health import Health
from app.state.pg import Connection

#: How often an idle process looks for events other processes enqueued.
POLL_S = 0.5
CLAIM = """
SELECT o.id, o.operation_id, o.event_id, o.event, o.url, o.body, o.attempts FROM s2v_outbox o
 WHERE o.delivered_at IS NULL AND o.dead_at IS NULL AND o.next_attempt_at <= now()
   AND o.id = (SELECT min(h.id) FROM s2v_outbox h
                WHERE h.operation_id = o.operation_id AND h.delivered_at IS NULL AND h.dead_at IS NULL)
 ORDER BY o.id LIMIT %s FOR UPDATE OF o SKIP LOCKED
"""


class PgOutbox:
    def __init__(self, settings: Settings, pool: AsyncConnectionPool[Connection], *,
                 client: httpx.AsyncClient | None = None, health: Health | None = None, batch: int = 50):
        self.settings = settings
        self.pool = pool
        self.health = health or Health()
        self.batch = batch
        self._client = client or httpx.AsyncClient(timeout=settings.callbacks.CALLBACK_TIMEOUT_S)
        self._wake = asyncio.Event()

    async def enqueue(self, event: CallbackEvent, url: str | None) -> None:
        if not url:
            return
        async with self.pool.connection() as conn:
            await conn.execute("INSERT INTO s2v_outbox (operation_id, event_id, event, url, body) "
                               "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (operation_id, event_id) DO NOTHING",
                               (event.operation_id, event.event_id, event.event, url, event.model_dump_json()))
        self._wake.set()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                sent = await self.deliver_due()
            except Exception as exc:
                failures += 1
                logger.opt(exception=exc).error("callback delivery pass failed ({} in a row)", failures)
                self.health.failing(COMPONENT, describe(exc))
                await asyncio.sleep(backoff_s(failures, base_s=0.5, max_s=30.0))
                continue
            if failures:
                failures = 0
            self.health.ok(COMPONENT)
            if sent:
                continue  # the next event of those operations may be due now
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_S)
            except TimeoutError:
                pass

    async def deliver_due(self) -> int:
        """Claim due head events, send them, record each outcome; returns how many were attempted."""
        async with self.pool.connection() as conn, conn.transaction():
            rows = await (await conn.execute(CLAIM, (self.batch,))).fetchall()
            if not rows:
                return 0
            errors = await asyncio.gather(*(post_event(self._client, self.settings, r["url"], r["event_id"],
                                                       r["body"].encode()) for r in rows))
            for row, error in zip(rows, errors, strict=True):
                await self._record(conn, row, error)
        return len(rows)

    async def _record(self, conn: Connection, row: dict[str, object], error: str | None) -> None:
        if error is None:
            await conn.execute("UPDATE s2v_outbox SET delivered_at = now(), attempts = attempts + 1, "
                               "last_error = NULL WHERE id = %s", (row["id"],))
            return
        attempts = int(str(row["attempts"])) + 1
        cfg = self.settings.callbacks
        if attempts >= cfg.CALLBACK_MAX_ATTEMPTS:
            logger.error("callback {} for {} dead-lettered after {} attempts: {}", row["event_id"],
                         row["operation_id"], attempts, error)
            await conn.execute("UPDATE s2v_outbox SET dead_at = now(), attempts = %s, last_error = %s WHERE id = %s",
                               (attempts, error, row["id"]))
            return
        delay = backoff_s(attempts, base_s=cfg.CALLBACK_RETRY_BASE_S, max_s=cfg.CALLBACK_RETRY_MAX_S)
        logger.warning("callback {} ({}) failed: {}; retry {} in {:.1f}s", row["event_id"], row["event"], error,
                       attempts, delay)
        await conn.execute("UPDATE s2v_outbox SET attempts = %s, last_error = %s, next_attempt_at = %s WHERE id = %s",
                           (attempts, error, datetime.now(UTC) + timedelta(seconds=delay), row["id"]))

    async def pending(self) -> int:
        async with self.pool.connection() as conn:
            row = await (await conn.execute("SELECT count(*) AS n FROM s2v_outbox WHERE delivered_at IS NULL "
                                            "AND dead_at IS NULL")).fetchone()
        return int(row["n"]) if row else 0

    async def aclose(self) -> None:
        await self._client.aclose()



