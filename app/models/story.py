"""A story as stored: storyboard, shots, and the object keys of their assets."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

from app.core.ids import ShotIdFormat, canonical_shot_ref, shot_uuid
from app.models.storyboard import Character


def utcnow() -> datetime:
    return datetime.now(UTC)


class StoryStatus(StrEnum):
    draft = "draft"
    generating = "generating"
    ready = "ready"
    failed = "failed"


class ShotStatus(StrEnum):
    pending = "pending"
    rendering = "rendering"
    done = "done"
    failed = "failed"


class Asset(BaseModel):
    """A produced file: `file` is its path under the story's assets folder, `key` its object key.

    `fingerprint` digests the inputs it was made from; when the inputs change the asset is stale.
    """

    key: str
    file: str
    fingerprint: str = ""
    duration: float | None = None
    #: the backend that made it; a fallback's asset is redone by the next render
    backend: str = "embedded"
    degraded: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Keyframe(Asset):
    version: int
    operation_id: str


class FinalVideo(Asset):
    subtitle_key: str
    subtitle_file: str
    cover_key: str
    cover_file: str
    #: WebVTT subtitles (absent on videos composed before they were made)
    vtt_key: str | None = None
    vtt_file: str | None = None
    #: the render request's composition options (bgm, transition, ...) the video was made with
    render_options: dict[str, Any] = Field(default_factory=dict)


class EnhancedClip(Asset):
    """A shot's clip interpolated and upscaled for one film format (its fingerprint digests the clip and it)."""

    width: int
    height: int
    fps: float
    #: how it was made, e.g. "resynthesized", "blend+lanczos", "sr=flashvsr;interp=rife"
    method: str = ""


class Shot(BaseModel):
    #: the short id, shot_NN: used in paths, object keys, progress and state
    id: str
    #: the stable UUID (core.ids.shot_uuid of the story id and the sequence); set by the story
    uuid: str = ""
    sequence: int
    subject: str
    detail: str
    image_detail: str
    camera: str
    narration: str
    tone: str
    characters: list[str] = Field(default_factory=list)
    #: provider-specific motion prompts by language (see PlannedShot.prompts); `detail` stays the user's
    prompts: dict[str, str] = Field(default_factory=dict)
    status: ShotStatus = ShotStatus.pending
    keyframe: Keyframe | None = None
    keyframe_history: list[Keyframe] = Field(default_factory=list)
    audio: Asset | None = None
    clip: Asset | None = None
    #: the clip enhanced for the latest enhanced render (freshness.enhanced_is_current says for which)
    enhanced: EnhancedClip | None = None
    #: stage → why a fallback backend made this shot's asset (absent when the configured one did)
    degraded: dict[str, str] = Field(default_factory=dict)

    def shown_id(self, shot_format: ShotIdFormat) -> str:
        """The id clients are shown under SHOT_ID_FORMAT."""
        return self.uuid if shot_format == "uuid" and self.uuid else self.id


class Story(BaseModel):
    story_id: str
    user_id: str
    display_name: str
    script_content: str
    style: str
    aspect_ratio: str = "16:9"
    language: str = "zh"
    status: StoryStatus = StoryStatus.draft
    characters: list[Character] = Field(default_factory=list)
    shots: list[Shot] = Field(default_factory=list)
    video: FinalVideo | None = None
    #: every shot's keyframe, number and narration on one PNG (made after create and regenerate)
    contact_sheet: Asset | None = None
    #: set when the storyboard came from a fallback planner
    degraded: dict[str, str] = Field(default_factory=dict)
    plan_operation_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _derive_shot_uuids(self) -> Story:
        """Every shot's UUID follows from the story id and its sequence (stories stored before UUIDs too)."""
        for shot in self.shots:
            shot.uuid = shot_uuid(self.story_id, shot.sequence)
        return self

    def shot(self, shot_id: str) -> Shot | None:
        """The shot with this short id (shot_NN) or this UUID (any spelling uuid.UUID accepts)."""
        ref = canonical_shot_ref(shot_id)
        return next((s for s in self.shots if ref in (s.id, s.uuid)), None)
