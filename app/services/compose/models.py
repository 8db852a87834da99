"""Inputs, options and result of composing a story's film."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, field_validator

if TYPE_CHECKING:
    from app.core.settings import Settings

Fit = Literal["pad", "crop"]
ShortClip = Literal["hold", "slow"]
Transition = Literal["cut", "crossfade", "fadeblack"]


class ShotMedia(BaseModel):
    """One shot's media: its clip, its narration WAV and its planned length on the film."""

    shot_id: str
    clip_path: Path
    audio_path: Path
    duration: float = Field(description="Planned length in seconds (narration plus air)")
    narration: str = ""


class ComposeOptions(BaseModel):
    """How the film is made: output format, fitting of clips, transitions, subtitles, music, loudness."""

    width: int = Field(1280, ge=16)
    height: int = Field(720, ge=16)
    fps: int = Field(25, ge=1, le=120)
    crf: int = Field(23, ge=0, le=51)
    preset: str = "veryfast"
    burn_subtitles: bool = True
    font: str = "Noto Sans CJK SC"
    timeout_s: float = Field(600.0, gt=0)
    fit: Fit = Field("pad", description="Clips of another aspect ratio: pad (letter/pillarbox) or crop")
    short_clip: ShortClip = Field("hold", description="A clip shorter than its shot: hold its last frame, or slow it")
    max_slowdown: float = Field(1.25, ge=1.0, le=4.0, description="Slowest playback factor for short_clip=slow")
    clip_audio: bool = Field(True, description="Keep the clips' own sound (if any) under the narration")
    clip_audio_db: float = Field(-12.0, le=12.0, description="Gain on the clips' own sound")
    transition: Transition = "cut"
    transition_s: float = Field(0.5, ge=0.0, le=5.0)
    music_path: Path | None = None
    music_lu: float = Field(-10.0, le=10.0, description="Music loudness relative to the narration, before ducking")
    music_duck_db: float = Field(12.0, ge=0.0, le=30.0, description="How far music drops while narration plays")
    music_fade_s: float = Field(2.0, ge=0.0, le=30.0)
    loudness_lufs: float = Field(-16.0, ge=-40.0, le=-5.0, description="Integrated loudness of the mix")
    true_peak_db: float = Field(-1.5, ge=-9.0, le=0.0, description="True-peak ceiling of the mix (dBTP)")

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("must be even (H.264 4:2:0 needs even dimensions)")
        return value

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ComposeOptions:
        """Options from the service settings (VIDEO_*, SUBTITLE_*, CLIP_*, TRANSITION*, MUSIC_*, LOUDNESS_*)."""
        values: dict[str, Any] = {
            "width": settings.VIDEO_WIDTH,
            "height": settings.VIDEO_HEIGHT,
            "fps": settings.VIDEO_FPS,
            "crf": settings.VIDEO_CRF,
            "preset": settings.VIDEO_PRESET,
            "burn_subtitles": settings.BURN_SUBTITLES,
            "font": settings.SUBTITLE_FONT,
            "timeout_s": settings.FFMPEG_TIMEOUT_S,
            "fit": settings.VIDEO_FIT,
            "short_clip": settings.SHORT_CLIP,
            "max_slowdown": settings.SHORT_CLIP_MAX_SLOWDOWN,
            "clip_audio": settings.CLIP_AUDIO,
            "clip_audio_db": settings.CLIP_AUDIO_DB,
            "transition": settings.TRANSITION,
            "transition_s": settings.TRANSITION_S,
            "music_lu": settings.MUSIC_LU,
            "music_duck_db": settings.MUSIC_DUCK_DB,
            "music_fade_s": settings.MUSIC_FADE_S,
            "loudness_lufs": settings.LOUDNESS_LUFS,
            "true_peak_db": settings.TRUE_PEAK_DB,
        }
        return cls(**{**values, **overrides})

    def fingerprint_fields(self) -> dict[str, Any]:
        """Everything that changes the film's content (not how long FFmpeg may take)."""
        return self.model_dump(mode="json", exclude={"timeout_s"})


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


class ComposeInputError(ValueError):
    """The shots handed to composition are unusable (none, missing files, bad durations)."""

    def __init__(self, message: str, *, shot_id: str | None = None):
        super().__init__(message)
        self.shot_id = shot_id
