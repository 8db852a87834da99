"""Runs operations in background tasks: one at a time per story, in the order they were accepted.

An operation's lifecycle: queued → running → succeeded | failed. A crash or shutdown leaves it
`running`; `resume_pending` at start-up runs it again, and each step skips what is already done.
The final state write and the final callback are shielded from cancellation.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger

from app.core import metrics
from app.core.errors import StageError
from app.models.operation import Operation, OperationError, OperationStatus, OperationType
from app.models.story import Story, StoryStatus, utcnow
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


class JobRunner:
    def __init__(self, ctx: PipelineContext, result_view: ResultView):
        self.ctx = ctx
        self.result_view = result_view
        self._story_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancel_requested: set[str] = set()

    def submit(self, op: Operation) -> None:
        if op.operation_id in self._tasks:
            return
        task = asyncio.create_task(self._run(op.operation_id, op.story_id), name=op.operation_id)
        self._tasks[op.operation_id] = task
        metrics.operation_queued(op.operation_id, op.type)
        task.add_done_callback(lambda _: self._tasks.pop(op.operation_id, None))

    async def resume_pending(self) -> int:
        """Submit every operation a previous process left queued or running, oldest first."""
        pending = [op for op in await self.ctx.store.list_operations() if not op.status.terminal]
        for op in sorted(pending, key=lambda o: o.created_at):
            logger.info("resuming {} ({}, {})", op.operation_id, op.type, op.status)
            self.submit(op)
        return len(pending)

    async def cancel(self, operation_id: str, *, wait_s: float = 15.0) -> bool:
        """Stop a queued or running operation (FFmpeg and other children are killed); False if not active."""
        task = self._tasks.get(operation_id)
        if task is None:
            return False
        self._cancel_requested.add(operation_id)
        task.cancel()
        await asyncio.wait({task}, timeout=wait_s)
        return True

    async def shutdown(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _run(self, operation_id: str, story_id: str) -> None:
        with logger.contextualize(operation_id=operation_id, story_id=story_id):
            try:
                async with self._story_locks[story_id]:
                    await self._execute(operation_id)
            except asyncio.CancelledError:
                if operation_id not in self._cancel_requested:
                    raise  # shutdown: left as it is, resumed at the next start
                await asyncio.shield(self._record_cancelled(operation_id))
            finally:
                self._cancel_requested.discard(operation_id)
                metrics.operation_left(operation_id)

    async def _record_cancelled(self, operation_id: str) -> None:
        op = await self.ctx.store.get_operation(operation_id)
        if op is None or op.status.terminal:
            return
        error = OperationError(code="cancelled", message="the operation was cancelled", stage=op.progress.stage)
        await self._finish(OperationReporter(self.ctx, op), OperationStatus.cancelled, error=error)

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
            await asyncio.shield(self._finish(reporter, OperationStatus.failed, error=error))
        except Exception:
            logger.exception("{} crashed", op.type)
            error = OperationError(code="internal_error", message="the operation failed unexpectedly",
                                   stage=reporter.op.progress.stage)
            await asyncio.shield(self._finish(reporter, OperationStatus.failed, error=error))
        else:
            await asyncio.shield(self._finish(reporter, OperationStatus.succeeded, result=result))

    async def _finish(self, reporter: OperationReporter, status: OperationStatus, *,
                      result: dict[str, Any] | None = None, error: OperationError | None = None) -> None:
        def finish(current: Operation) -> None:
            current.status, current.result, current.error = status, result, error
            current.finished_at = utcnow()
            if status is OperationStatus.succeeded:
                current.progress.done = current.progress.total
                current.progress.stage = "done"

        op = reporter.op
        finish(op)
        story = await self.ctx.store.get_story(op.story_id)
        if status is not OperationStatus.succeeded and story is not None:
            story = await self.ctx.store.update_story(op.story_id, _after_stop if error and error.code == "cancelled"
                                                      else _mark_failed)
        name = f"operation.{status}"
        # The event goes to the outbox before the operation turns terminal: after a crash in
        # between, the operation runs again and re-emits the same event id.
        await reporter.emit(name, stage=op.progress.stage, status=status,
                            result=self.result_view(op, story),
                            error=error.model_dump() if error else None)
        await self.ctx.store.update_operation(op.operation_id, finish)
        metrics.operation_ended(op.operation_id, op.type, status, error_code=error.code if error else None,
                                error_stage=error.stage if error else None,
                                seconds=(op.finished_at - op.created_at).total_seconds() if op.finished_at else None)
        if error:
            logger.warning("{} failed: {} ({})", op.type, error.code, error.message)
        else:
            logger.info("{} succeeded", op.type)


def _mark_running(op: Operation) -> None:
    op.status = OperationStatus.running
    op.attempts += 1
    op.started_at = op.started_at or utcnow()


def _mark_failed(story: Story) -> None:
    story.status = StoryStatus.failed


def _after_stop(story: Story) -> None:
    story.status = StoryStatus.ready if story.shots and all(s.keyframe for s in story.shots) else StoryStatus.draft
