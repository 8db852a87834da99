"""Embedded enhance backend: FFmpeg in this process, no GPU and no service.

Two ways, chosen per clip:

* a Ken Burns clip (made by the embedded clip backend, `request.source` set) is made again at the target
  rate (ENHANCE_RESYNTHESIZE, default on): its frames are generated, so the in-betweens are exact (no
  ghosting), at a fraction of motion interpolation's cost. The move is drawn at the keyframe's own
  resolution (at most the target's; there is no more detail to sample) and upscaled with lanczos in the same
  encode, which costs a third less than drawing it at the target size and looks the same (SSIM 0.99);
* any other clip is interpolated by ENHANCE_EMBEDDED_INTERP (`blend` by default: cross-faded in-betweens;
  `mci`, FFmpeg's motion-compensated `minterpolate`, looks better and costs about 6× the CPU; `dup` repeats
  frames) and upscaled with lanczos, in one encode; its own sound, if any, is copied.

The figures behind these defaults are in docs/benchmarks.md ("Enhancement on the CPU").
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.core.settings import Settings
from app.core.settings.enhance import InterpMode
from app.services.backend import Readiness, binary_readiness
from app.services.clip.kenburns import kenburns_args
from app.services.enhance.base import EnhanceRequest, EnhanceResult
from app.services.ffmpeg import run_ffmpeg


def interpolate_filter(mode: InterpMode, fps: int) -> str:
    """The FFmpeg filter that brings a clip to `fps` by `mode` (see the module docstring)."""
    if mode == "dup":
        return f"fps={fps}"
    if mode == "blend":
        return f"minterpolate=fps={fps}:mi_mode=blend"
    return f"minterpolate=fps={fps}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1"


def enhance_filter(request: EnhanceRequest, mode: InterpMode) -> str:
    """Interpolate first (cheaper on small frames), then upscale; hold the last frame so the clip's length is
    reached whatever the interpolator leaves out at the end."""
    steps = []
    if request.target_fps != request.fps:
        steps.append(interpolate_filter(mode, request.target_fps))
    if (request.target_width, request.target_height) != (request.width, request.height):
        steps.append(f"scale={request.target_width}:{request.target_height}:flags=lanczos")
    return ",".join([*steps, "setsar=1", "tpad=stop_mode=clone:stop_duration=1", f"fps={request.target_fps}",
                     "format=yuv420p"])


def sample_size(keyframe: tuple[int, int], clip: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    """The size to draw a Ken Burns move at: the target's shape at the keyframe's resolution (never above the
    target, never below the clip), even sides."""
    factor = min(1.0, keyframe[0] / target[0], keyframe[1] / target[1])
    factor = max(factor, clip[0] / target[0], clip[1] / target[1])
    if factor >= 1.0:
        return target
    return max(2, int(target[0] * factor) // 2 * 2), max(2, int(target[1] * factor) // 2 * 2)


def image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
    return width, height


def frame_count(request: EnhanceRequest) -> int:
    return max(1, round(request.duration * request.target_fps))


def enhance_args(request: EnhanceRequest, out_path: Path, *, mode: InterpMode, crf: int, preset: str) -> list[str]:
    """FFmpeg arguments (after `ffmpeg -y`) that interpolate and upscale the clip in one encode, exactly
    round(duration × target_fps) frames, its sound (if any) copied."""
    target = (request.target_width, request.target_height)
    if min(target) <= 0 or any(side % 2 for side in target) or request.target_fps <= 0 or request.duration <= 0:
        raise ValueError(f"cannot enhance to {target[0]}x{target[1]} at {request.target_fps} fps "
                         f"({request.duration} s)")
    return [
        "-i", str(request.clip_path),
        "-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn",
        "-vf", enhance_filter(request, mode),
        "-frames:v", str(frame_count(request)), "-r", str(request.target_fps),
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-c:a", "copy",
        "-movflags", "+faststart",
        str(out_path),
    ]  # fmt: skip


class EmbeddedEnhancer:
    """Enhance backend that runs FFmpeg here (encoder settings VIDEO_CRF, VIDEO_PRESET, FFMPEG_TIMEOUT_S)."""

    def __init__(self, settings: Settings):
        self.mode: InterpMode = settings.enhance.EMBEDDED_INTERP
        self.resynthesize = settings.enhance.RESYNTHESIZE
        self.crf, self.preset = settings.compose.crf, settings.compose.preset
        self.timeout_s = settings.compose.timeout_s

    async def enhance(self, request: EnhanceRequest, out_path: Path) -> EnhanceResult:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        size = {"width": request.target_width, "height": request.target_height, "fps": request.target_fps}
        if request.source is not None and self.resynthesize:
            target = (request.target_width, request.target_height)
            keyframe = await asyncio.to_thread(image_size, request.source.keyframe_path)
            width, height = sample_size(keyframe, (request.width, request.height), target)
            remade = request.source.model_copy(update={"width": width, "height": height, "fps": request.target_fps})
            await run_ffmpeg(kenburns_args(remade, out_path, crf=self.crf, preset=self.preset, out_size=target),
                             timeout_s=self.timeout_s)
            return EnhanceResult(**size, method="resynthesized")
        args = enhance_args(request, out_path, mode=self.mode, crf=self.crf, preset=self.preset)
        await run_ffmpeg(args, timeout_s=self.timeout_s)
        upscaled = (request.target_width, request.target_height) != (request.width, request.height)
        interpolated = request.target_fps != request.fps
        method = "+".join([*([self.mode] if interpolated else []), *(["lanczos"] if upscaled else [])]) or "copy"
        return EnhanceResult(**size, method=method)

    async def ready(self) -> Readiness:
        """Ready when ffmpeg is installed."""
        return binary_readiness("ffmpeg")

    async def aclose(self) -> None:
        """Nothing to close: each call runs its own FFmpeg process."""


def create(settings: Settings) -> EmbeddedEnhancer:
    """The embedded enhance backend configured from settings."""
    return EmbeddedEnhancer(settings)
