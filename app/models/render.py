"""The choices one render request may make about its film; unset ones follow the settings.

One model serves the request body, the film's fingerprint and the compose engine: a field named like
a `ComposeOptions` field overrides that option as it is; `bgm` and `resolution` are translated
(`freshness.compose_options`); `enhance`, `multi` and `scale` choose the film's enhanced size and rate
(`freshness.film_format`). A new option is one field here (and one in ComposeOptions if new).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.settings.composition import Transition

#: `bgm` values that mean "no music" even when DEFAULT_BGM names some.
NO_MUSIC = frozenset({"", "none"})
Resolution = Literal["720p", "1080p"]


class RenderOverrides(BaseModel):
    bgm: str | None = Field(
        None,
        max_length=200,
        description="Background music: a file name in the music folder (MUSIC_DIR); 'none' for no music; "
        "unset = DEFAULT_BGM",
    )
    transition: Transition | None = Field(None, description="Unset = TRANSITION")
    transition_s: float | None = Field(None, ge=0.0, le=2.0, description="Unset = TRANSITION_S")
    resolution: Resolution | None = Field(None, description="Unset = VIDEO_WIDTH × VIDEO_HEIGHT")
    burn_subtitles: bool | None = Field(None, description="Unset = BURN_SUBTITLES")
    enhance: bool | None = Field(None, description="Interpolate and upscale every clip before composing the film "
                                 "at the enhanced size and rate; unset = ENHANCE")
    multi: int | None = Field(None, ge=1, le=4, description="Frame-interpolation factor when enhancing: the film "
                              "runs at VIDEO_FPS × multi (within ENHANCE_MAX_FPS); unset = ENHANCE_MULTI")
    scale: int | None = Field(None, ge=1, le=4, description="Super-resolution factor when enhancing (within "
                              "ENHANCE_MAX_PIXELS; `resolution`, when given, names the size instead); "
                              "unset = ENHANCE_SCALE")

    def chosen(self) -> dict[str, Any]:
        """The options this render sets (those left unset follow the settings)."""
        return self.model_dump(exclude_none=True)

    @classmethod
    def of(cls, stored: dict[str, Any]) -> RenderOverrides:
        """The overrides a stored request (or stored render options) set; other keys are not options."""
        return cls.model_validate({k: v for k, v in stored.items() if k in cls.model_fields})
