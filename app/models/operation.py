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


class ShotProgress(BaseModel):
    """Where one shot is: the stage it is in, its state there, and the backend's own steps inside a job
    (HunyuanVideo's denoising steps, ComfyUI's sampler steps) when the backend reports them."""

    stage: str | None = None
    state: str = Field("pending", description="pending|waiting (for a GPU or API slot)|rendering (on it)|done|failed")
    step: int | None = None
    total: int | None = None

    @property
    def share(self) -> float:
        """How much of the shot's current unit of work is done: step/total while rendering, else 0."""
        if self.state != "rendering" or not self.total or self.step is None:
            return 0.0
        return min(max(self.step / self.total, 0.0), 1.0)


class Progress(BaseModel):
    stage: str = "queued"
    done: int = 0
    total: int = 0
    shots: dict[str, str] = Field(default_factory=dict,
                                  description="shot id → pending|waiting|rendering|done|failed")
    shot_progress: dict[str, ShotProgress] = Field(default_factory=dict,
                                                   description="shot id → {stage, state, step, total}")

    @property
    def percent(self) -> float:
        """Units done, plus the share of each unit being rendered, of all units."""
        if not self.total:
            return 0.0
        partial = sum(shot.share for shot in self.shot_progress.values())
        return round(100.0 * min(self.done + partial, self.total) / self.total, 1)

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
