"""Running one operation to its end — shared by the in-process `JobRunner` and the queue worker.

`Executor.execute` marks the operation running and runs its step (`STEPS`); any outcome ends in
`finish`: story status, final callback event, operation record, each write retried until it lands
and shielded from cancellation. A worker that dies mid-way leaves the operation `running`; running it
again skips what is finished (fingerprints) and re-emits the same event ids.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger

from app.core import metrics
from app.core.errors import StageError, describe, storage_error
from app.models.operation import Operation, OperationError, OperationStatus, OperationType
from app.models.story import Story, StoryStatus, utcnow
from app.services.backend import backoff_s
from app.services.health import Health
from app.services.pipeline.context import PipelineContext
from app.services.pipeline.create import run_create
from app.services.pipeline.regenerate import run_regenerate
from app.services.pipeline.render import run_render
from app.services.pipeline.reporter import OperationReporter

#: Renders an operation's result as clients see it (URLs for keys); the API layer provides it.
ResultView = Callable[[Operation, Story | None], dict[str, Any] | None]
Step = Callable[[PipelineContext, Operation, OperationReporter], Awaitable[dict[str, Any]]]

STEPS: dict[OperationType, Step] = {
    OperationType.story_create: run_create,
    OperationType.shot_regen: run_regenerate,
    OperationType.video_render: run_render,
}
COMPONENT = "job runner"
#: Runs before an operation's step (the worker fetches the story's assets it lacks); None in process.
Prepare = Callable[[PipelineContext, Operation], Awaitable[None]]


class Executor:
    def __init__(self, ctx: PipelineContext, result_view: ResultView, health: Health, *,
                 prepare: Prepare | None = None):
        self.ctx = ctx
        self.result_view = result_view
        self.health = health
        self.prepare = prepare

    async def execute(self, operation_id: str) -> None:
        """Run the operation unless it is already terminal; a CancelledError is left to the caller."""
        op = await self.ctx.store.get_operation(operation_id)
        if op is None or op.status.terminal:
            return
        op = await self.ctx.store.update_operation(operation_id, _mark_running)
        metrics.operation_started(operation_id, op.type)
        logger.info("{} started (attempt {})", op.type, op.attempts)
        reporter = OperationReporter(self.ctx, op)
        try:
            if self.prepare is not None:
                await self.prepare(self.ctx, op)
            result = await STEPS[op.type](self.ctx, op, reporter)
        except asyncio.CancelledError:
            logger.warning("{} interrupted", op.type)
            raise
        except StageError as exc:
            error = OperationError(code=exc.code, message=exc.message, stage=exc.stage, shot_id=exc.shot_id)
            await asyncio.shield(self.finish(reporter.op, OperationStatus.failed, error=error))
        except Exception as exc:
            logger.opt(exception=exc).error("{} crashed", op.type)
            await asyncio.shield(self.finish(reporter.op, OperationStatus.failed,
                                             error=_unexpected(exc, reporter.op.progress.stage)))
        else:
            await asyncio.shield(self.finish(reporter.op, OperationStatus.succeeded, result=result))

    async def fail(self, operation_id: str, exc: Exception) -> None:
        op = await self.until_it_lands("read the failed operation", lambda: self.ctx.store.get_operation(operation_id))
        if op is not None and not op.status.terminal:
            await self.finish(op, OperationStatus.failed, error=_unexpected(exc, op.progress.stage))

    async def record_cancelled(self, operation_id: str) -> None:
        op = await self.until_it_lands("read the cancelled operation",
                                       lambda: self.ctx.store.get_operation(operation_id))
        if op is None or op.status.terminal:
            return
        error = OperationError(code="cancelled", message="the operation was cancelled", stage=op.progress.stage)
        await self.finish(op, OperationStatus.cancelled, error=error)

    async def finish(self, op: Operation, status: OperationStatus, *,
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
            await self.until_it_lands("mark the story", lambda: self._update_story(op.story_id, change))
        story = await self.until_it_lands("read the story", lambda: self.ctx.store.get_story(op.story_id))
        reporter = OperationReporter(self.ctx, op)
        # The event goes to the outbox before the operation turns terminal: after a crash in
        # between, the operation runs again and re-emits the same event id (sent once).
        await self.until_it_lands("queue the final callback", lambda: reporter.emit(
            f"operation.{status}", stage=op.progress.stage, status=status, result=self.result_view(op, story),
            error=error.model_dump() if error else None))
        await self.until_it_lands("record the outcome", lambda: self.ctx.store.update_operation(op.operation_id,
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

    async def until_it_lands(self, what: str, attempt: Callable[[], Awaitable[Any]]) -> Any:
        """Retry a write the operation's outcome depends on until it succeeds (a full or read-only disk
        heals, the database comes back); the runner shows as degraded in /readyz meanwhile."""
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
