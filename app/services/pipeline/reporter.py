"""Keeps an operation's progress on disk as it goes and emits its stage callbacks.

Per-shot progress comes from two sides: the pipeline steps (a shot starts a stage, finishes it) and,
through `shot_scope`, the backends' slots and jobs (the shot waits for a GPU, renders on it, is at
step 12 of 50). Those are noted in memory and written together at most every NOTE_INTERVAL_S, or with
the next write of the operation, so a backend that reports each step does not write the file each time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any

from app.core import metrics
from app.core.ids import shown_shot_id
from app.models.events import CallbackEvent, event_id_for
from app.models.operation import Operation, OperationStatus, ShotProgress
from app.services.pipeline.context import PipelineContext
from app.services.scheduling import work_scope

#: Least time between two writes of noted shot progress.
NOTE_INTERVAL_S = 0.25


class OperationReporter:
    def __init__(self, ctx: PipelineContext, op: Operation):
        self.ctx = ctx
        self.op = op
        self._began: dict[str, float] = {}
        self._notes: dict[str, ShotProgress] = {}
        self._advance = 0
        self._writer: asyncio.Task[None] | None = None

    def stage_finished(self, stage: str) -> bool:
        return stage in self.op.stages_done

    async def begin(self, stage: str, *, total: int | None = None) -> None:
        self._began.setdefault(stage, time.monotonic())

        def change(op: Operation) -> None:
            op.progress.stage = stage
            if total is not None:
                op.progress.total = total

        await self._update(change)

    async def shot_state(self, shot_id: str, state: str, *, advance: int = 0) -> None:
        """Set a shot's state in the current stage now (with any noted progress)."""
        self._record(shot_id, self.op.progress.stage, state, advance=advance)
        await self._update(lambda _: None)

    def shot_scope(self, shot_id: str, stage: str) -> AbstractContextManager[None]:
        """The backend calls of the block work for this story (the slots' fairness key) and report the shot's
        waiting, rendering and steps in `stage`."""
        return work_scope(self.op.story_id, lambda state, step, total: self.note(shot_id, stage, state, step, total))

    def note(self, shot_id: str, stage: str, state: str, step: int | None = None, total: int | None = None, *,
             advance: int = 0) -> None:
        """Record a shot's progress (and `advance` units done); it is written within NOTE_INTERVAL_S."""
        self._record(shot_id, stage, state, step, total, advance=advance)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_later())

    def _record(self, shot_id: str, stage: str, state: str, step: int | None = None, total: int | None = None, *,
                advance: int = 0) -> None:
        before = self._notes.get(shot_id) or self.op.progress.shot_progress.get(shot_id)
        if step is None and before is not None and (before.stage, before.state) == (stage, state):
            step, total = before.step, before.total  # a plain "still rendering" keeps the steps it had
        self._notes[shot_id] = ShotProgress(stage=stage, state=state, step=step, total=total)
        self._advance += advance

    @asynccontextmanager
    async def noting(self) -> AsyncIterator[None]:
        """Write what was noted in the block when it ends (not when it is cancelled: the runner records that)."""
        try:
            yield
        except asyncio.CancelledError:
            self._stop_writer()
            raise
        except Exception:
            await self.flush()
            raise
        await self.flush()

    async def flush(self) -> None:
        """Write the noted shot progress now."""
        self._stop_writer()
        if self._notes or self._advance:
            await self._update(lambda _: None)

    async def advance(self, units: int = 1) -> None:
        def change(op: Operation) -> None:
            op.progress.done = min(op.progress.done + units, op.progress.total)

        await self._update(change)

    async def stage_done(self, stage: str) -> None:
        """Record a finished stage: the event is persisted first, so a crash cannot lose it; a stage
        already recorded (a step re-run after a restart) emits nothing again."""
        if stage in self.op.stages_done:
            return
        await self.emit("operation.stage_completed", stage=stage, status=OperationStatus.running)
        began = self._began.pop(stage, None)
        seconds = None if began is None else time.monotonic() - began
        if seconds is not None:
            metrics.STAGE_DURATION.labels(self.op.type, stage).observe(seconds)

        def change(op: Operation) -> None:
            if stage not in op.stages_done:
                op.stages_done.append(stage)
            if seconds is not None:
                op.stage_seconds[stage] = round(op.stage_seconds.get(stage, 0.0) + seconds, 3)

        await self._update(change)

    def shot_name(self, shot_id: str) -> str:
        """The id a client is shown for a stored shot id (SHOT_ID_FORMAT)."""
        return shown_shot_id(self.op.story_id, shot_id, self.ctx.settings.answers.SHOT_ID_FORMAT)

    async def emit(self, event: str, *, stage: str, status: str, result: dict[str, Any] | None = None,
                   error: dict[str, Any] | None = None) -> None:
        url = self.op.callback_url or self.ctx.settings.callbacks.CALLBACK_URL
        if error and error.get("shot_id"):
            error = {**error, "shot_id": self.shot_name(error["shot_id"])}
        payload = CallbackEvent(
            event_id=event_id_for(self.op.operation_id, event, stage),
            event=event,
            operation_id=self.op.operation_id,
            type=self.op.type,
            story_id=self.op.story_id,
            user_id=self.op.user_id,
            stage=stage,
            status=status,
            progress=self.op.progress.view(self.shot_name),
            result=result,
            error=error,
        )
        logged = await self.ctx.store.events.append(payload)  # the operation's own stream, callback URL or not
        await self.ctx.outbox.enqueue(logged, url)

    async def _write_later(self) -> None:
        await asyncio.sleep(NOTE_INTERVAL_S)
        if self._notes or self._advance:
            await asyncio.shield(self._update(lambda _: None))  # a write begun is finished, even if stopped

    def _stop_writer(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
        self._writer = None

    async def _update(self, change: Callable[[Operation], None]) -> None:
        """Apply `change`, after the shot progress noted so far, to the stored operation."""
        notes, advance = self._notes, self._advance
        self._notes, self._advance = {}, 0

        def apply(op: Operation) -> None:
            for shot_id, shot in notes.items():
                op.progress.shot_progress[shot_id] = shot
                op.progress.shots[shot_id] = shot.state
            op.progress.done = min(op.progress.done + advance, op.progress.total)
            change(op)

        self.op = await self.ctx.store.update_operation(self.op.operation_id, apply)
