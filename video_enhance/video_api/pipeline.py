"""One enhancement job: probe, plan the steps, run the GPU engines, then ONE final encode that applies the FFmpeg
steps and muxes the original audio back, cut to the source's length (so sound stays in sync)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .engines import EngineSet
from .engines.base import Engine, FileEngine, Step
from .errors import EnhanceError
from .media import VideoInfo, final_encode_args, probe, run_ffmpeg
from .settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnhanceSpec:
    """What to do: super-resolution ``scale`` and frame-rate ``multi`` (each 1, 2 or 4)."""

    scale: int
    multi: int


@dataclass
class EnhanceResult:
    """What came out and which engine did each step (``degraded``: a GPU engine failed, FFmpeg stood in)."""

    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    has_audio: bool
    engines: dict[str, str] = field(default_factory=dict)
    degraded: bool = False
    seconds: float = 0.0


def check_limits(info: VideoInfo, spec: EnhanceSpec, settings: Settings) -> None:
    """Refuse inputs too long or too large before any work is queued (``EnhanceError`` -> 422)."""
    if info.duration_s > settings.max_input_seconds:
        raise EnhanceError(f"the video is {info.duration_s:.1f} s; the limit is {settings.max_input_seconds:g} s",
                           code="video_too_long")
    if info.pixels > settings.max_input_pixels:
        raise EnhanceError(f"the video is {info.width}x{info.height}; the limit is {settings.max_input_pixels} "
                           "pixels", code="video_too_large")
    if info.pixels * spec.scale**2 > settings.max_output_pixels:
        raise EnhanceError(f"{info.width}x{info.height} x{spec.scale} exceeds {settings.max_output_pixels} output "
                           "pixels; ask for a smaller scale", code="output_too_large")
    if float(info.fps * spec.multi) > settings.max_output_fps:
        raise EnhanceError(f"{float(info.fps):g} fps x{spec.multi} exceeds {settings.max_output_fps:g} fps",
                           code="output_too_fast")


def plan(spec: EnhanceSpec, engines: EngineSet) -> list[tuple[Step, Engine, int]]:
    """Steps to run, in order: GPU (file) engines first - super-resolution before interpolation, as the
    upstream did - then FFmpeg filters, interpolation before scaling (``minterpolate`` is cheaper on small
    frames). Factor-1 steps are skipped."""
    steps: list[tuple[Step, Engine, int]] = [("sr", engines.sr, spec.scale), ("interp", engines.interp, spec.multi)]
    steps = [s for s in steps if s[2] > 1]
    return [s for s in steps if s[1].gpu] + [s for s in reversed(steps) if not s[1].gpu]


def enhance(src: Path, out: Path, spec: EnhanceSpec, *, engines: EngineSet, settings: Settings, work: Path,
            on_stage: Callable[[str, int, int], None] = lambda *_: None) -> EnhanceResult:
    """Enhance ``src`` into ``out`` (H.264 + AAC MP4, original audio); raise ``EnhanceError`` on failure.

    ``on_stage(stage, done, total)`` is called as each step starts: its name (``sr:flashvsr``, ``encode`` ...), how
    many steps are done, and how many there are (the planned engine steps plus the final encode)."""
    started = time.monotonic()
    # 1. probe the input
    info = probe(src)
    check_limits(info, spec, settings)
    # 2. plan the steps
    current, filters = src, []
    used, degraded = {"sr": "none", "interp": "none"}, False
    # 3. run the GPU engines (video file in, video file out); collect the FFmpeg filters
    steps = plan(spec, engines)
    for done, (step, engine, factor) in enumerate(steps):
        on_stage(f"{step}:{engine.name}", done, len(steps) + 1)
        step_info = probe(current) if current != src else info
        if engine.gpu:
            current, engine, failed = run_file_step(step, engine, factor, current, step_info, engines, work, settings)
            degraded |= failed
        if not engine.gpu:
            filters.append(engine.filter(factor=factor, info=step_info))
        used[step] = engine.name
    # 4. one final encode: pending filters, constant fps, the source's audio, the source's length
    on_stage("encode", len(steps), len(steps) + 1)
    run_ffmpeg(final_encode_args(video_in=current, audio_src=src, out=out, filters=filters, fps=info.fps * spec.multi,
                                 duration_s=info.duration_s, has_audio=info.has_audio, crf=settings.crf,
                                 preset=settings.preset, audio_bitrate=settings.audio_bitrate),
               timeout_s=settings.job_timeout_s)
    # 5. check what was written
    result = probe(out)
    return EnhanceResult(result.width, result.height, float(result.fps), result.frames, result.duration_s,
                         result.has_audio, used, degraded, round(time.monotonic() - started, 3))


def run_file_step(step: Step, engine: FileEngine, factor: int, current: Path, info: VideoInfo, engines: EngineSet,
                  work: Path, settings: Settings) -> tuple[Path, Engine, bool]:
    """Run one GPU step; on failure (with ``fallback_to_ffmpeg``) hand the step to the FFmpeg engine instead.

    Returns the file now holding the video, the engine that did (or will do) the step, and whether it failed."""
    dst = work / f"{step}-{engine.name}.mkv"
    try:
        engine.run(current, dst, factor=factor, info=info)
        return dst, engine, False
    except Exception as exc:
        if not settings.fallback_to_ffmpeg:
            raise EnhanceError(f"the {engine.name} engine failed", code="engine_failed") from exc
        logger.warning("%s: %s failed, FFmpeg does this step instead", step, engine.name, exc_info=exc)
        return current, engines.fallback(step), True
