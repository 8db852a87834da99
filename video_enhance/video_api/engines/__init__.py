"""Enhancement engines and how one is chosen for each step.

Two steps, each with its own engine:

* super-resolution (``sr``): ``flashvsr`` (GPU, when configured) or ``ffmpeg`` (lanczos);
* frame interpolation (``interp``): ``rife`` (GPU, when configured) or ``ffmpeg`` (minterpolate).

An engine is either a *filter engine* (FFmpeg: it contributes a filter to the final encode, so FFmpeg steps cost
no extra encode) or a *file engine* (GPU: video file in, video file out, no audio). ``ENHANCE_SR_ENGINE`` /
``ENHANCE_INTERP_ENGINE`` pick one: ``auto`` takes the GPU engine when it is configured and falls back to FFmpeg
(logged); naming a GPU engine that is not configured is a start-up error with a message that says what is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..errors import EngineNotConfigured
from ..settings import Settings
from .base import Engine, Step
from .ffmpeg import FFmpegInterpolator, FFmpegUpscaler
from .flashvsr import FlashVsrUpscaler
from .rife import RifeInterpolator

logger = logging.getLogger(__name__)

@dataclass
class EngineSet:
    """The engine chosen for each step, plus the FFmpeg engines used as fallbacks."""

    sr: Engine
    interp: Engine
    ffmpeg_sr: FFmpegUpscaler
    ffmpeg_interp: FFmpegInterpolator

    def fallback(self, step: Step) -> Engine:
        return self.ffmpeg_sr if step == "sr" else self.ffmpeg_interp

    def describe(self) -> dict[str, str]:
        return {"sr": self.sr.name, "interp": self.interp.name}


def choose(step: Step, wanted: str, gpu_engine: Engine, fallback: Engine) -> Engine:
    """``wanted`` is ``ffmpeg``, ``auto`` or the GPU engine's name; see the module docstring."""
    if wanted == "ffmpeg":
        return fallback
    try:
        gpu_engine.check()
    except EngineNotConfigured as exc:
        if wanted != "auto":
            raise
        logger.info("%s: using the FFmpeg engine (%s)", step, exc.message)
        return fallback
    return gpu_engine


def select_engines(settings: Settings) -> EngineSet:
    """Choose (not yet load) the engine of each step from the settings."""
    ffmpeg_sr, ffmpeg_interp = FFmpegUpscaler(), FFmpegInterpolator(settings.ffmpeg_mi_mode)
    sr = choose("sr", settings.sr_engine, FlashVsrUpscaler(settings), ffmpeg_sr)
    interp = choose("interp", settings.interp_engine, RifeInterpolator(settings), ffmpeg_interp)
    return EngineSet(sr, interp, ffmpeg_sr, ffmpeg_interp)


def load_engines(engines: EngineSet, *, auto: dict[Step, bool]) -> EngineSet:
    """Load the GPU engines; one that fails to load under ``auto`` is replaced by FFmpeg (logged), else raises."""
    for step in ("sr", "interp"):
        engine = getattr(engines, step)
        try:
            engine.load()
        except Exception as exc:
            if not (engine.gpu and auto[step]):
                raise
            logger.warning("%s: %s failed to load, using the FFmpeg engine: %s", step, engine.name, exc)
            setattr(engines, step, engines.fallback(step))
    return engines
