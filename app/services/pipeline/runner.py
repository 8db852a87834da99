"""Runs operations: at most MAX_RUNNING_OPERATIONS at once, one at a time per story, fairly across stories.

An operation's lifecycle: queued → running → succeeded | failed | cancelled. Accepted operations wait
in a bounded fair queue (acceptance order within a story, round-robin between stories); a full queue
refuses new work with 429. A crash or shutdown leaves an operation `running`; `resume_pending` at
start-up queues it again, and each step skips what is already done. Any failure of a job — a state
write included — ends it `failed` with a code; the terminal write and its callback are retried until
they land and are shielded from cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger

from app.core import metrics
from app.core.errors import StageError, TooManyRequests, describe, storage_error
from app.models.operation import Operation, OperationError, OperationStatus, OperationType
from app.models.story import Story, StoryStatus, utcnow
from app.services.backend import backoff_s
from app.services.health import Health, supervise
from app.services.pipeline.context import PipelineContext
from app.services.pipeline.create import run_create
from app.services.pipeline.fairqueue import Entry, FairQueue
from app.services.pipeline.regenerate import run_regenerate
from app.services.pipeline.render import run_render
from app.services.pipeline.reporter import OperationReporter
from app.services.pipeline.waiting import OperationWaiter

#: Renders an operation's result as clients see it (URLs for keys); the API layer provides it.
ResultView = Callable[[Operation, Story | None], dict[str, Any] | None]
Step = Callable[[PipelineContext, Operation, OperationReporter], Awaitable[dict[str, Any]]]

STEPS: dict[OperationType, Step] = {
    OperationType.story_create: run_create,
    OperationType.shot_regen: run_regenerate,
    OperationType.video_render: run_render,
}
COMPONENT = "job runner"


class JobRunner:
    def __init__(self, ctx: PipelineContext, result_view: ResultView, *, health: Health | None = None):
        self.ctx = ctx
        self.result_view = result_view
        self.health = health or Health()
        self.max_running = ctx.settings.work.MAX_RUNNING_OPERATIONS
        self.max_queued = ctx.settings.work.MAX_QUEUED_OPERATIONS
        self._queue = FairQueue()
        self._queued_ids: set[str] = set()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._cancel_requested: set[str] = set()
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        #: requests waiting for an operation to end; woken when one of ours does
        self.waiter = OperationWaiter(ctx.store, is_local=self.is_active)

    def is_active(self, operation_id: str) -> bool:
        """Whether this process runs (or has queued) the operation, so it will signal its end."""
        return operation_id in self._queued_ids or operation_id in self._running

    # --- admission side ----------------------------------------------------------------------
    def check_capacity(self) -> None:
        """Refuse new work (429) when the queue is full; admission asks before it writes anything."""
        if len(self._queue) >= self.max_queued:
            retry_after = max(1, min(60, len(self._queue) // max(self.max_running, 1)))
            raise TooManyRequests("queue_full", f"{len(self._queue)} operations are waiting; try again later",
                                  retry_after_s=retry_after)

    def submit(self, op: Operation) -> None:
        """Queue an accepted operation (idempotent)."""
        if op.operation_id in self._queued_ids or op.operation_id in self._running:
            return
        self._queue.push(Entry(op.operation_id, op.story_id))
        self._queued_ids.add(op.operation_id)
        metrics.operation_queued(op.operation_id, op.type)
        self._wake.set()

    def queue_position(self, operation_id: str) -> int | None:
        return self._queue.position(operation_id) if operation_id in self._queued_ids else None

    def load(self) -> dict[str, int]:
        return {"running": len(self._running), "waiting": len(self._queue), "max_running": self.max_running,
                "max_waiting": self.max_queued}

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._dispatcher = asyncio.create_task(supervise(COMPONENT, self._dispatch, self.health), name="dispatcher")

    async def resume_pending(self) -> int:
        """Queue every operation a previous process left queued or running, oldest first."""
        pending = [op for op in await self.ctx.store.list_operations() if not op.status.terminal]
        for op in sorted(pending, key=lambda o: o.created_at):
            logger.info("resuming {} ({}, {})", op.operation_id, op.type, op.status)
            self.submit(op)
        return len(pending)

    async def cancel(self, operation_id: str, *, wait_s: float = 15.0) -> bool:
        """Stop a queued or running operation (FFmpeg and other children are killed); False if neither."""
        if self._queue.remove(operation_id):
            self._queued_ids.discard(operation_id)
            await asyncio.shield(self._record_cancelled(operation_id))
            self.waiter.finished(operation_id)
            metrics.operation_left(operation_id)
            return True
        task = self._running.get(operation_id)
        if task is None:
            return False
        self._cancel_requested.add(operation_id)
        task.cancel()
        await asyncio.wait({task}, timeout=wait_s)
        return True

    async def shutdown(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        tasks = [*self._running.values(), *([self._dispatcher] if self._dispatcher else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _dispatch(self) -> None:
        while True:
            while len(self._running) < self.max_running and (entry := self._queue.next_ready()) is not None:
                self._queued_ids.discard(entry.operation_id)
                task = asyncio.create_task(self._run(entry), name=entry.operation_id)
                self._running[entry.operation_id] = task
            self._wake.clear()
            await self._wake.wait()

    # --- one operation -----------------------------------------------------------------------
    async def _run(self, entry: Entry) -> None:
        operation_id = entry.operation_id
        with logger.contextualize(operation_id=operation_id, story_id=entry.story_id):
            try:
                await self._execute(operation_id)
            except asyncio.CancelledError:
                if operation_id in self._cancel_requested:
                    await asyncio.shield(self._record_cancelled(operation_id))
                # else: shutdown — left as it is, resumed at the next start
            except Exception as exc:  # a failure outside any step: a state write, a lost story
                logger.opt(exception=exc).error("operation crashed")
                await asyncio.shield(self._fail(operation_id, exc))
            finally:
                self._cancel_requested.discard(operation_id)
                self._running.pop(operation_id, None)
                self._queue.done(entry.story_id)
                self._wake.set()
                self.waiter.finished(operation_id)
                metrics.operation_left(operation_id)

    async def _execute(self, operation_id: str) -> None:
        op = await self.ctx.store.get_operation(operation_id)
        if op is None or op.status.terminal:
            return
        op = await self.ctx.store.update_operation(operation_id, _mark_running)
        metrics.operation_started(operation_id, op.type)
        logger.info("{} started (attempt {})", op.type, op.attempts)
        reporter = OperationReporter(self.ctx, op)
        try:
            result = await STEPS[op.type](self.ctx, op, reporter)
        except asyncio.CancelledError:
            logger.warning("{} interrupted", op.type)
            raise
        except StageError as exc:
            error = OperationError(code=exc.code, message=exc.message, stage=exc.stage, shot_id=exc.shot_id)
            await asyncio.shield(self._finish(reporter.op, OperationStatus.failed, error=error))
        except Exception as exc:
            logger.opt(exception=exc).error("{} crashed", op.type)
            await asyncio.shield(self._finish(reporter.op, OperationStatus.failed,
                                              error=_unexpected(exc, reporter.op.progress.stage)))
        else:
            await asyncio.shield(self._finish(reporter.op, OperationStatus.succeeded, result=result))

    async def _fail(self, operation_id: str, exc: Exception) -> None:
        op = await self._until_it_lands("read the failed operation", lambda: self.ctx.store.get_operation(operation_id))
        if op is not None and not op.status.terminal:
            await self._finish(op, OperationStatus.failed, error=_unexpected(exc, op.progress.stage))

    async def _record_cancelled(self, operation_id: str) -> None:
        op = await self._until_it_lands("read the cancelled operation",
                                        lambda: self.ctx.store.get_operation(operation_id))
        if op is None or op.status.terminal:
            return
        error = OperationError(code="cancelled", message="the operation was cancelled", stage=op.progress.stage)
        await self._finish(op, OperationStatus.cancelled, error=error)

    async def _finish(self, op: Operation, status: OperationStatus, *,
                      result: dict[str, Any] | None = None, error: OperationError | None = None) -> None:
        """Make the operation terminal: story status, final event, operation record — retried until written."""
        def finish(current: Operation) -> None:
            current.status, current.result, current.error = status, result, error
            current.finished_at = utcnow()
            if status is OperationStatus.succeeded:
                current.progress.done = current.progress.total
                current.progress.stage = "done"

        finish(op)
        if status is not OperationStatus.succeeded:
            change = _after_stop if status is OperationStatus.cancelled else _mark_failed
            await self._until_it_lands("mark the story", lambda: self._update_story(op.story_id, change))
        story = await self._until_it_lands("read the story", lambda: self.ctx.store.get_story(op.story_id))
        reporter = OperationReporter(self.ctx, op)
        # The event goes to the outbox before the operation turns terminal: after a crash in
        # between, the operation runs again and re-emits the same event id (sent once).
        await self._until_it_lands("queue the final callback", lambda: reporter.emit(
            f"operation.{status}", stage=op.progress.stage, status=status, result=self.result_view(op, story),
            error=error.model_dump() if error else None))
        await self._until_it_lands("record the outcome", lambda: self.ctx.store.update_operation(op.operation_id,
                                                                                                finish))
        metrics.operation_ended(op.operation_id, op.type, status, error_code=error.code if error else None,
                                error_stage=error.stage if error else None,
                                seconds=(op.finished_at - op.created_at).total_seconds() if op.finished_at else None)
        if error:
            logger.warning("{} {}: {} ({})", op.type, status, error.code, error.message)
        else:
            logger.info("{} succeeded", op.type)

    async def _update_story(self, story_id: str, change: Callable[[Story], None]) -> Story | None:
        if await self.ctx.store.get_story(story_id) is None:
            return None
        return await self.ctx.store.update_story(story_id, change)

    async def _until_it_lands(self, what: str, attempt: Callable[[], Awaitable[Any]]) -> Any:
        """Retry a write the operation's outcome depends on until it succeeds (a full or read-only disk
        heals); the runner shows as degraded in /readyz meanwhile."""
        failures = 0
        while True:
            try:
                value = await attempt()
            except Exception as exc:
                failures += 1
                self.health.failing(COMPONENT, f"cannot {what}: {describe(exc)}")
                await asyncio.sleep(backoff_s(failures, base_s=0.2, max_s=10.0))
                continue
            if failures:
                self.health.ok(COMPONENT)
            return value


def _unexpected(exc: Exception, stage: str) -> OperationError:
    """The error of a failure no step mapped: a disk fault by its code, anything else `internal_error`."""
    api = storage_error(exc) if isinstance(exc, OSError) else None
    if api is not None:
        return OperationError(code=api.code, message=api.message, stage=stage)
    return OperationError(code="internal_error", message="the operation failed unexpectedly", stage=stage)


def _mark_running(op: Operation) -> None:
    op.status = OperationStatus.running
    op.attempts += 1
    op.started_at = op.started_at or utcnow()


def _mark_failed(story: Story) -> None:
    story.status = StoryStatus.failed


def _after_stop(story: Story) -> None:
    story.status = StoryStatus.ready if story.shots and all(s.keyframe for s in story.shots) else StoryStatus.draft
