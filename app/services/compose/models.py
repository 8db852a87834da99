"""Inputs, options and result of composing a story's film."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from app.core.settings.composition import ComposeOptions, Fit, ShortClip, Transition

__all__ = ["ClipInfo", "ComposeOptions", "ComposeResult", "Fit", "ShortClip", "ShotMedia",
           "Transition"]


class ShotMedia(BaseModel):
    """One shot's media: its clip, its narration WAV and its planned length on the film."""

    shot_id: str
    clip_path: Path
    audio_path: Path
    duration: float = Field(description="Planned length in seconds (narration plus air)")
    narration: str = ""


class ClipInfo(BaseModel):
    """What composition needs to know about a clip: its length and whether it carries sound."""

    duration: float | None = None
    has_audio: bool = False


class ComposeResult(BaseModel):
    """Where the film, its subtitles and its cover were written, and the film's probed length."""

    video_path: Path
    srt_path: Path
    vtt_path: Path
    cover_path: Path
    duration: float
    shot_durations: list[float] = Field(default_factory=list, description="Each shot's length on the film")
    loudness_lufs: float | None = None
    true_peak_db: float | None = None

