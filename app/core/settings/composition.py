"""How the film is composed: the one model the settings, the render overrides and the compose engine share.

Field names are the engine's; each reads the environment variable named in its alias (VIDEO_WIDTH…).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from app.core.settings.base import section_config

Fit = Literal["pad", "crop"]
ShortClip = Literal["hold", "slow"]
Transition = Literal["cut", "crossfade", "fadeblack"]


class ComposeOptions(BaseSettings):
    """How the film is made: output format, fitting of clips, transitions, subtitles, music, loudness."""

    model_config = section_config()

    width: int = Field(1280, ge=16, validation_alias="VIDEO_WIDTH",
                       description="Frame width of 16:9 stories (9:16 swaps it, 1:1 uses the height twice)")
    height: int = Field(720, ge=16, validation_alias="VIDEO_HEIGHT")
    fps: int = Field(25, ge=1, le=120, validation_alias="VIDEO_FPS")
    crf: int = Field(23, ge=0, le=51, validation_alias="VIDEO_CRF")
    preset: str = Field("veryfast", validation_alias="VIDEO_PRESET")
    burn_subtitles: bool = Field(True, validation_alias="BURN_SUBTITLES")
    font: str = Field("Noto Sans CJK SC", validation_alias="SUBTITLE_FONT")
    timeout_s: float = Field(600.0, gt=0, validation_alias="FFMPEG_TIMEOUT_S")
    fit: Fit = Field("pad", validation_alias="VIDEO_FIT",
                     description="Clips of another aspect ratio: pad (letter/pillarbox) or crop")
    short_clip: ShortClip = Field("hold", validation_alias="SHORT_CLIP",
                                  description="A clip shorter than its shot: hold its last frame, or slow it")
    max_slowdown: float = Field(1.25, ge=1.0, le=4.0, validation_alias="SHORT_CLIP_MAX_SLOWDOWN",
                                description="Slowest playback factor for short_clip=slow")
    clip_audio: bool = Field(True, validation_alias="CLIP_AUDIO",
                             description="Keep the clips' own sound (if any) under the narration")
    clip_audio_db: float = Field(-12.0, le=12.0, validation_alias="CLIP_AUDIO_DB",
                                 description="Gain on the clips' own sound")
    transition: Transition = Field("cut", validation_alias="TRANSITION")
    transition_s: float = Field(0.5, ge=0.0, le=5.0, validation_alias="TRANSITION_S")
    music_path: Path | None = Field(None, validation_alias="COMPOSE_MUSIC_PATH",
                                    description="Set per render from bgm / DEFAULT_BGM; not a setting")
    music_lu: float = Field(-10.0, le=10.0, validation_alias="MUSIC_LU",
                            description="Music loudness relative to the narration, before ducking")
    music_duck_db: float = Field(12.0, ge=0.0, le=30.0, validation_alias="MUSIC_DUCK_DB",
                                 description="How far music drops while narration plays")
    music_fade_s: float = Field(2.0, ge=0.0, le=30.0, validation_alias="MUSIC_FADE_S")
    loudness_lufs: float = Field(-16.0, ge=-40.0, le=-5.0, validation_alias="LOUDNESS_LUFS",
                                 description="Integrated loudness of the mix")
    true_peak_db: float = Field(-1.5, ge=-9.0, le=0.0, validation_alias="TRUE_PEAK_DB",
                                description="True-peak ceiling of the mix (dBTP)")

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("must be even (H.264 4:2:0 needs even dimensions)")
        return value

    def fingerprint_fields(self) -> dict[str, Any]:
        """Everything that changes the film's content (not how long FFmpeg may take)."""
        return self.model_dump(mode="json", exclude={"timeout_s"})

    def with_changes(self, **changes: Any) -> ComposeOptions:
        """A validated copy with `changes` applied (names that are not options are ignored)."""
        return type(self).model_validate({**self.model_dump(), **changes})
