"""Wiring of the scale-out mode (DATABASE_URL set): one pool, the PostgreSQL state store and outbox, the
queue runner, and — in a worker process or with WORKER_IN_API — a queue worker. Both `app.main` and
`python -m app.cli worker` build it; the embedded mode never imports it."""

from __future__ import annotations

import asyncio
from typing import Any

import procrastinate
from loguru import logger

from app.core.errors import ConfigurationError
from app.core.settings import Settings
from app.services.callbacks.outbox import COMPONENT as OUTBOX
from app.services.callbacks.pg_outbox import PgOutbox
from app.services.health import Health, supervise
from app.services.pipeline.context import PipelineContext
from app.services.pipeline.execution import ResultView
from app.services.pipeline.queue import QueueRunner, QueueWorker, build_queue
from app.services.registry import Providers
from app.services.worker_pool import CpuWork
from app.state import migrate
from app.state.pg import PgStateStore, make_pool

WORKER = "queue worker"


class ScaleOut:
    def __init__(self, settings: Settings, providers: Providers, result_view: ResultView, health: Health):
        self.settings = settings
        self.health = health
        cfg = settings.scaleout
        self.pool = make_pool(cfg.dsn(), size=cfg.DB_POOL_SIZE)
        self.store = PgStateStore(self.pool, settings.state.DATA_DIR)
        self.queue: procrastinate.App = build_queue(settings)
        self.outbox = PgOutbox(settings, self.pool, health=health)
        self.ctx = PipelineContext(settings=settings, store=self.store, providers=providers, outbox=self.outbox,
                                   cpu=CpuWork.configured(settings))
        self.runner = QueueRunner(self.ctx, result_view, self.queue, self.pool, health=health)
        self.worker = QueueWorker(self.ctx, result_view, self.queue, health=health)
        self._tasks: list[asyncio.Task[Any]] = []

    async def open(self) -> None:
        """Connect; refuse to start on a database whose schema is not upgraded (say how to)."""
        missing = await migrate.pending(self.settings.scaleout.dsn())
        if missing or not await _has_queue_schema(self.settings.scaleout.dsn()):
            raise ConfigurationError("the database lacks the service's schema "
                                     f"({', '.join(missing) or 'procrastinate'}): run `python -m app.cli db upgrade`",
                                     code="database_not_upgraded")
        await self.pool.open(wait=True, timeout=30)
        await self.queue.open_async()

    def start(self, *, worker: bool, install_signal_handlers: bool = False) -> asyncio.Task[Any] | None:
        """Deliver callbacks (every process helps) and, with `worker`, run jobs; returns the worker's task."""
        self._tasks.append(asyncio.create_task(supervise(OUTBOX, self.outbox.run, self.health), name="outbox"))
        self.runner.start()
        if not worker:
            return None
        task = asyncio.create_task(self.worker.run(install_signal_handlers=install_signal_handlers), name=WORKER)
        self._tasks.append(task)
        return task

    async def close(self) -> None:
        for task in reversed(self._tasks):  # the worker first: it hands its jobs back within the grace
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.runner.shutdown()
        await self.outbox.aclose()
        self.ctx.cpu.close()
        await self.queue.close_async()
        await self.pool.close()
        logger.info("scale-out connections closed")


async def _has_queue_schema(dsn: str) -> bool:
    from psycopg import AsyncConnection

    async with await AsyncConnection.connect(dsn, autocommit=True) as conn:
        row = await (await conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).fetchone()
    return bool(row and row[0])


async def upgrade(settings: Settings) -> list[str]:
    """`db upgrade`: Procrastinate's schema (when absent), then the service's migrations."""
    dsn = settings.scaleout.dsn()
    done: list[str] = []
    if not await _has_queue_schema(dsn):
        queue = build_queue(settings)
        async with queue.open_async():
            await queue.schema_manager.apply_schema_async()
        done.append("procrastinate schema")
    return done + await migrate.upgrade(dsn)
