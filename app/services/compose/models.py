"""Inputs, options and result of composing a story's film."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, field_validator

if TYPE_CHECKING:
    from app.core.settings import Settings


class ShotMedia(BaseModel):
    """One shot's media: its clip, its narration WAV and its planned length on the film."""

    shot_id: str
    clip_path: Path
    audio_path: Path
    duration: float = Field(description="Planned length in seconds (narration plus air)")
    narration: str = ""


class ComposeOptions(BaseModel):
    """Output format of the film."""

    width: int = Field(1280, ge=16)
    height: int = Field(720, ge=16)
    fps: int = Field(25, ge=1, le=120)
    crf: int = Field(23, ge=0, le=51)
    preset: str = "veryfast"
    burn_subtitles: bool = True
    font: str = "Noto Sans CJK SC"
    timeout_s: float = Field(600.0, gt=0)

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("must be even (H.264 4:2:0 needs even dimensions)")
        return value

    @classmethod
    def from_settings(cls, settings: Settings) -> ComposeOptions:
        """Options from the service settings (VIDEO_*, SUBTITLE_FONT, BURN_SUBTITLES, FFMPEG_TIMEOUT_S)."""
        return cls(
            width=settings.VIDEO_WIDTH,
            height=settings.VIDEO_HEIGHT,
            fps=settings.VIDEO_FPS,
            crf=settings.VIDEO_CRF,
            preset=settings.VIDEO_PRESET,
            burn_subtitles=settings.BURN_SUBTITLES,
            font=settings.SUBTITLE_FONT,
            timeout_s=settings.FFMPEG_TIMEOUT_S,
        )


class ComposeResult(BaseModel):
    """Where the film, its subtitles and its cover were written, and the film's probed length."""

    video_path: Path
    srt_path: Path
    cover_path: Path
    duration: float


class ComposeInputError(ValueError):
    """The shots handed to composition are unusable (none, missing files, bad durations)."""

    def __init__(self, message: str, *, shot_id: str | None = None):
        super().__init__(message)
        self.shot_id = shot_id
