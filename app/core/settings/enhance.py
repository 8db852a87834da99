"""The enhance stage's settings: whether films are enhanced, by how much, within which cap, and by which backend."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.core.settings.base import RetrySettings, section_config
from app.core.settings.service import EMBEDDED

#: ENHANCE_FALLBACK words that are not backends: compose the shot unenhanced, or fail the render.
SKIP, NONE = "skip", "none"
InterpMode = Literal["mci", "blend", "dup"]


class EnhanceSettings(RetrySettings):
    """ENHANCE*: frame interpolation and super-resolution of each shot's clip before composition.

    A render's `enhance`, `multi` and `scale` override ENHANCE, ENHANCE_MULTI and ENHANCE_SCALE. The film is
    then composed at the enhanced size and rate (subtitles drawn once, at that size). Names shared with the
    video_enhance service's own ENHANCE_* settings are avoided on purpose."""

    model_config = section_config("ENHANCE_")

    #: Enhance every render's film (the seed's "enhancement option"); a render's `enhance` overrides it
    ENABLED: bool = Field(False, validation_alias="ENHANCE")
    #: Frame-interpolation factor: the film runs at VIDEO_FPS × this (a render's `multi` overrides it)
    MULTI: int = Field(2, ge=1, le=4)
    #: Super-resolution factor: the film is VIDEO_WIDTH × VIDEO_HEIGHT × this (a render's `scale` overrides
    #: it; a render's `resolution` names the size instead)
    SCALE: int = Field(2, ge=1, le=4)
    #: Most pixels per enhanced frame (3840×2160); a larger film keeps its shape, scaled down to fit
    MAX_PIXELS: int = Field(3840 * 2160, ge=16 * 16)
    #: Highest enhanced frame rate; a larger `multi` is lowered until VIDEO_FPS × multi fits
    MAX_FPS: int = Field(60, ge=1, le=240)
    #: The video_enhance service (RIFE / FlashVSR on a GPU, FFmpeg anywhere), e.g. http://127.0.0.1:6010;
    #: empty = the embedded FFmpeg engine in this process
    URL: str = ""
    #: Enhance backend: empty = http when ENHANCE_URL is set, else embedded; or a `module:factory` spec
    PROVIDER: str = ""
    #: What follows when the enhance backend fails for a shot: a comma list of backends to try (e.g.
    #: "embedded,skip"), then `skip` = compose that shot unenhanced and say so in `degraded`; `none` (or a
    #: list without `skip`) = fail the render with enhance_failed
    FALLBACK: str = SKIP
    #: Embedded engine, real (not Ken Burns) clips: blend (cross-fade in-betweens, cheap), mci (FFmpeg
    #: motion-compensated minterpolate, about 6× the CPU of blend) or dup (repeat frames)
    EMBEDDED_INTERP: InterpMode = "blend"
    #: Embedded engine: re-make Ken Burns clips at the enhanced size and rate instead of interpolating them
    RESYNTHESIZE: bool = True
    #: One shot's whole enhancement by the service (upload → download), after which the shot falls back
    TIMEOUT_S: float = Field(1800.0, gt=0)
    #: One HTTP request to the service (the upload included); transient failures are retried RETRIES times
    REQUEST_TIMEOUT_S: float = Field(120.0, gt=0)
    POLL_INTERVAL_S: float = Field(1.0, gt=0)
    #: Largest enhanced clip downloaded from the service (bytes)
    MAX_DOWNLOAD_BYTES: int = Field(512 * 1024 * 1024, ge=1)
    #: Shots enhanced at once by the service (its queue holds 4 waiting jobs by default)
    CONCURRENCY: int = 2

    def provider(self) -> str:
        """The enhance backend: ENHANCE_PROVIDER, else http with ENHANCE_URL, else embedded."""
        if self.PROVIDER.strip():
            return self.PROVIDER.strip()
        return "http" if self.URL.strip() else EMBEDDED

    def fallback_words(self) -> list[str]:
        return [w.strip() for w in self.FALLBACK.split(",") if w.strip()]

    def chain(self) -> list[str]:
        """The backends tried for a shot in order: the provider, then the fallback backends (no repeats)."""
        backends = [w for w in self.fallback_words() if w.lower() not in (SKIP, NONE)]
        return list(dict.fromkeys([self.provider(), *backends]))

    @property
    def skips(self) -> bool:
        """Whether a shot no backend could enhance is composed unenhanced (else the render fails)."""
        words = [w.lower() for w in self.fallback_words()]
        return SKIP in words or not words
