"""An operation: one accepted POST, its progress, and its outcome."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from app.models.story import utcnow


class OperationType(StrEnum):
    story_create = "story_create"
    shot_regen = "shot_regen"
    video_render = "video_render"


class OperationStatus(StrEnum):
    #: accepted, waiting for its turn on the story
    queued = "queued"
    #: being worked on (also left so by a crash; resumed at start-up)
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (OperationStatus.succeeded, OperationStatus.failed, OperationStatus.cancelled)


class Progress(BaseModel):
    stage: str = "queued"
    done: int = 0
    total: int = 0
    shots: dict[str, str] = Field(default_factory=dict, description="shot id → pending|rendering|done|failed")

    @property
    def percent(self) -> float:
        return round(100.0 * self.done / self.total, 1) if self.total else 0.0

    def view(self, shot_name: Callable[[str], str] | None = None) -> dict[str, Any]:
        """The progress as the API and the callbacks show it; `shot_name` turns a stored shot id into
        the id clients are shown (SHOT_ID_FORMAT)."""
        shots = {shot_name(k) if shot_name else k: v for k, v in self.shots.items()}
        return {**self.model_dump(), "shots": shots, "percent": self.percent}


class OperationError(BaseModel):
    code: str
    message: str
    stage: str | None = None
    shot_id: str | None = None


class Operation(BaseModel):
    operation_id: str
    type: OperationType
    status: OperationStatus = OperationStatus.queued
    story_id: str
    user_id: str
    request: dict[str, Any]
    request_digest: str
    callback_url: str | None = None
    progress: Progress = Field(default_factory=Progress)
    stages_done: list[str] = Field(default_factory=list)
    #: stage → seconds spent in it (summed over attempts)
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: OperationError | None = None
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
