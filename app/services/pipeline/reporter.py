"""Keeps an operation's progress on disk as it goes and emits its stage callbacks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from app.core import metrics
from app.core.ids import shown_shot_id
from app.models.events import CallbackEvent, event_id_for
from app.models.operation import Operation, OperationStatus
from app.services.pipeline.context import PipelineContext


class OperationReporter:
    def __init__(self, ctx: PipelineContext, op: Operation):
        self.ctx = ctx
        self.op = op
        self._began: dict[str, float] = {}

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
        def change(op: Operation) -> None:
            op.progress.shots[shot_id] = state
            op.progress.done = min(op.progress.done + advance, op.progress.total)

        await self._update(change)

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
        await self.ctx.store.events.append(payload)  # the operation's own event stream, callback URL or not
        await self.ctx.outbox.enqueue(payload, url)

    async def _update(self, change: Callable[[Operation], None]) -> None:
        self.op = await self.ctx.store.update_operation(self.op.operation_id, change)
