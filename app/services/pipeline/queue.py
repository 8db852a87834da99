"""The scale-out job runner: operations are Procrastinate jobs in PostgreSQL, run by worker processes.

* `QueueRunner` (API side) stores an accepted operation and defers its job in one transaction
  (`PgStateStore.admit`); the job's lock is the story id, so a story's operations run one at a time in
  acceptance order on whichever workers take them. Cancel marks the job: a waiting one is cancelled
  here, a running one is aborted through LISTEN/NOTIFY, and its worker cancels the task (FFmpeg and
  backend calls are killed as in process).
* `QueueWorker` runs jobs with the same `Executor` as the in-process runner, after fetching the story's
  assets it lacks (`assets.py`). Workers heartbeat; a periodic job retries the jobs of workers silent
  longer than STALLED_AFTER_S. On SIGTERM a worker takes no new job, lets running ones finish for
  SHUTDOWN_GRACE_S, then hands them back (`HandedBack` is retried at once, on another worker).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any

import procrastinate
from loguru import logger
from procrastinate.job_context import AbortReason, JobContext
from psycopg_pool import AsyncConnectionPool

from app.core.errors import TooManyRequests
from app.core.settings import Settings
from app.models.operation import Operation
from app.models.story import Story
from app.services.health import Health
from app.services.pipeline.assets import fetch_missing_assets
from app.services.pipeline.context import PipelineContext
from app.services.pipeline.execution import Executor, ResultView
from app.services.pipeline.waiting import OperationWaiter
from app.state.pg import Connection, PgStateStore

RUN_TASK = "story2video.run_operation"
STALLED_TASK = "story2video.retry_stalled"
#: How often the API process refreshes the queue figures it shows and checks capacity against.
STATS_INTERVAL_S = 1.0


class HandedBack(Exception):
    """A stopping worker gave the operation back to the queue: another worker resumes it."""


def build_queue(settings: Settings) -> procrastinate.App:
    """The Procrastinate app: its connector, the operation task and the periodic stalled-job sweep."""
    cfg = settings.scaleout
    connector = procrastinate.PsycopgConnector(conninfo=cfg.dsn(), min_size=1, max_size=cfg.DB_POOL_SIZE)
    app = procrastinate.App(connector=connector)
    retry = procrastinate.RetryStrategy(max_attempts=1000, retry_exceptions={HandedBack})

    @app.task(name=RUN_TASK, queue=cfg.QUEUE_NAME, pass_context=True, retry=retry)
    async def run_operation(context: JobContext, operation_id: str, story_id: str) -> None:
        worker: QueueWorker = context.additional_context["worker"]
        await worker.run_job(context, operation_id, story_id)

    every = max(1, min(30, int(cfg.STALLED_AFTER_S / 3)))

    @app.periodic(cron=f"* * * * * */{every}", periodic_id="retry-stalled")
    @app.task(name=STALLED_TASK, queue=cfg.QUEUE_NAME, queueing_lock=STALLED_TASK, pass_context=True)
    async def retry_stalled(context: JobContext, timestamp: int) -> None:  # noqa: ARG001
        await retry_stalled_jobs(context.app, cfg.STALLED_AFTER_S)

    return app


async def retry_stalled_jobs(app: procrastinate.App, stalled_after_s: float) -> int:
    """Put back the running jobs of workers that stopped heartbeating (killed, frozen, cut off)."""
    stalled = await app.job_manager.get_stalled_jobs(task_name=RUN_TASK, seconds_since_heartbeat=stalled_after_s)
    count = 0
    for job in stalled:
        logger.warning("retrying job {} ({}) of a stalled worker", job.id, job.task_kwargs.get("operation_id"))
        await app.job_manager.retry_job(job)
        count += 1
    return count


async def defer_operation(queue: procrastinate.App, conn: Connection, operation_id: str, story_id: str) -> None:
    """Defer an operation's job on `conn` (inside the caller's transaction); the story id is the lock."""
    await queue.tasks[RUN_TASK].configure(lock=f"story:{story_id}", connection=conn).defer_async(
        operation_id=operation_id, story_id=story_id)


class QueueRunner:
    """The API side of the queue (the `Runner` protocol)."""

    def __init__(self, ctx: PipelineContext, result_view: ResultView, queue: procrastinate.App,
                 pool: AsyncConnectionPool[Connection], *, health: Health | None = None):
        assert isinstance(ctx.store, PgStateStore), "the queue runner keeps its state in PostgreSQL"
        self.ctx = ctx
        self.store: PgStateStore = ctx.store
        self.queue = queue
        self.pool = pool
        self.health = health or Health()
        self.executor = Executor(ctx, result_view, self.health)
        self.max_queued = ctx.settings.work.MAX_QUEUED_OPERATIONS
        self.waiter = OperationWaiter(ctx.store, poll_s=0.5)
        self._stats: dict[str, Any] = {"waiting": 0, "running": 0, "oldest_waiting_s": 0.0, "workers": 0}
        self._stats_task: asyncio.Task[None] | None = None

    # --- admission ---------------------------------------------------------------------------
    def check_capacity(self) -> None:
        waiting = int(self._stats["waiting"])
        if waiting >= self.max_queued:
            raise TooManyRequests("queue_full", f"{waiting} operations are waiting; try again later",
                                  retry_after_s=max(1, min(60, waiting // max(1, int(self._stats["workers"]) or 1))))

    async def accept(self, op: Operation, new_story: Story | None) -> Operation | None:
        async def defer(conn: Connection) -> None:
            await defer_operation(self.queue, conn, op.operation_id, op.story_id)

        return await self.store.admit(op, new_story, defer)

    def queue_position(self, operation_id: str) -> int | None:  # noqa: ARG002
        return None

    def load(self) -> dict[str, int]:
        return {"running": int(self._stats["running"]), "waiting": int(self._stats["waiting"]),
                "max_waiting": self.max_queued}

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._stats_task = asyncio.create_task(self._refresh_stats(), name="queue stats")

    async def resume_pending(self) -> int:
        """Nothing to do: jobs are durable in PostgreSQL, and stalled ones are retried by the workers."""
        return 0

    async def shutdown(self) -> None:
        if self._stats_task is not None:
            self._stats_task.cancel()
            await asyncio.gather(self._stats_task, return_exceptions=True)

    async def cancel(self, operation_id: str, *, wait_s: float = 15.0) -> bool:
        """Cancel a waiting job here; ask the worker running it to stop (it hears within a second)."""
        job = await self._job_of(operation_id)
        if job is None:
            return False
        job_id, status = job
        if status == "todo" and await self.queue.job_manager.cancel_job_by_id_async(job_id):
            await asyncio.shield(self.executor.record_cancelled(operation_id))
            self.waiter.finished(operation_id)
            return True
        await self.queue.job_manager.cancel_job_by_id_async(job_id, abort=True)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            op = await self.store.get_operation(operation_id)
            if op is None or op.status.terminal:
                break
            await asyncio.sleep(0.1)
        return True

    async def _job_of(self, operation_id: str) -> tuple[int, str] | None:
        async with self.pool.connection() as conn:
            row = await (await conn.execute(
                "SELECT id, status::text AS status FROM procrastinate_jobs WHERE task_name = %s "
                "AND args->>'operation_id' = %s AND status IN ('todo', 'doing') ORDER BY id DESC LIMIT 1",
                (RUN_TASK, operation_id))).fetchone()
        return None if row is None else (int(row["id"]), str(row["status"]))

    async def queue_report(self) -> dict[str, Any]:
        """The database and the queue for /readyz: jobs waiting, the oldest one's age, live workers."""
        stalled_after = self.ctx.settings.scaleout.STALLED_AFTER_S
        async with self.pool.connection() as conn:
            row = await (await conn.execute(
                "SELECT count(*) FILTER (WHERE status = 'todo') AS waiting, "
                "count(*) FILTER (WHERE status = 'doing') AS running, "
                "coalesce(extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE status = 'todo')), 0) "
                "AS oldest FROM procrastinate_jobs WHERE task_name = %s AND status IN ('todo', 'doing')",
                (RUN_TASK,))).fetchone()
            workers = await (await conn.execute(
                "SELECT count(*) AS n FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval("
                "secs => %s)", (stalled_after,))).fetchone()
        assert row is not None and workers is not None
        return {"waiting": int(row["waiting"]), "running": int(row["running"]),
                "oldest_waiting_s": round(float(row["oldest"] or 0.0), 3), "workers": int(workers["n"])}

    async def _refresh_stats(self) -> None:
        while True:
            try:
                self._stats = await self.queue_report()
            except Exception as exc:  # readiness says so; admission keeps the last figures
                logger.warning("cannot read the queue figures: {}", exc)
            await asyncio.sleep(STATS_INTERVAL_S)


class QueueWorker:
    """Runs operation jobs with the shared Executor; `run` is the Procrastinate worker loop."""

    def __init__(self, ctx: PipelineContext, result_view: ResultView, queue: procrastinate.App, *,
                 health: Health | None = None):
        self.ctx = ctx
        self.queue = queue
        self.settings = ctx.settings
        self.health = health or Health()
        self.executor = Executor(ctx, result_view, self.health, prepare=fetch_missing_assets)
        self.name = ctx.settings.scaleout.WORKER_NAME or f"{socket.gethostname()}-{os.getpid()}"

    async def run_job(self, context: JobContext, operation_id: str, story_id: str) -> None:
        with logger.contextualize(operation_id=operation_id, story_id=story_id, worker=self.name):
            try:
                await self.executor.execute(operation_id)
            except asyncio.CancelledError:
                reason = context.abort_reason()
                if reason is AbortReason.USER_REQUEST:
                    await asyncio.shield(self.executor.record_cancelled(operation_id))
                    raise
                if reason is AbortReason.SHUTDOWN:
                    logger.warning("handing {} back to the queue (worker stopping)", operation_id)
                    raise HandedBack(operation_id) from None
                raise
            except Exception as exc:  # a failure outside any step: a state write, a lost story
                logger.opt(exception=exc).error("operation crashed")
                await asyncio.shield(self.executor.fail(operation_id, exc))

    async def run(self, *, install_signal_handlers: bool = True) -> None:
        cfg = self.settings.scaleout
        logger.info("worker {} taking jobs from queue {} ({} at once)", self.name, cfg.QUEUE_NAME,
                    cfg.WORKER_CONCURRENCY)
        await self.queue.run_worker_async(
            queues=[cfg.QUEUE_NAME], name=self.name, concurrency=cfg.WORKER_CONCURRENCY,
            additional_context={"worker": self}, install_signal_handlers=install_signal_handlers,
            update_heartbeat_interval=cfg.HEARTBEAT_S, stalled_worker_timeout=cfg.STALLED_AFTER_S,
            shutdown_graceful_timeout=cfg.SHUTDOWN_GRACE_S, abort_job_polling_interval=1.0,
            fetch_job_polling_interval=5.0, listen_notify=True)
