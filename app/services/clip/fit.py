"""Fit a generated clip to the shot: its duration, frame size and frame rate, in one FFmpeg call.

Models return clips of their own length (Pixverse 5/8 s, HunyuanVideo 4k+1 frames at 24 fps), size
and rate, often with audio. The shot needs exactly `duration` seconds at `width`×`height` and `fps`,
silent (narration is added by the compose stage). Longer clips are trimmed; shorter ones hold their
last frame. The picture is scaled to cover the frame and centre-cropped, never letterboxed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from app.core.errors import FFmpegError, TerminalBackendError
from app.services.clip.base import ClipRequest
from app.services.ffmpeg import run_ffmpeg


def fit_filter(*, duration: float, width: int, height: int, fps: int) -> str:
    """The -vf chain: rate, cover-scale + crop, and a last-frame hold long enough for any source."""
    return ",".join([
        "setpts=PTS-STARTPTS",
        f"fps={fps}",
        f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=lanczos",
        f"crop={width}:{height}",
        "setsar=1",
        f"tpad=stop_mode=clone:stop_duration={duration:.3f}",
        "format=yuv420p",
    ])


def fit_args(
    src: Path,
    out_path: Path,
    *,
    duration: float,
    width: int,
    height: int,
    fps: int,
    crf: int = 23,
    preset: str = "veryfast",
) -> list[str]:
    """FFmpeg arguments (after `ffmpeg -y`) that turn `src` into a silent H.264 MP4 of exactly
    round(duration*fps) frames at width×height; raise ValueError for impossible targets."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"clip size must be positive and even, got {width}x{height}")
    if fps <= 0 or duration <= 0:
        raise ValueError(f"need fps > 0 and duration > 0, got {fps} fps, {duration} s")
    frames = max(1, round(duration * fps))
    return [
        "-i", str(src),
        "-map", "0:v:0", "-an", "-sn", "-dn",
        "-vf", fit_filter(duration=duration, width=width, height=height, fps=fps),
        "-frames:v", str(frames), "-r", str(fps),
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-movflags", "+faststart",
        str(out_path),
    ]  # fmt: skip


async def fit_clip(
    src: Path,
    out_path: Path,
    *,
    backend: str,
    duration: float,
    width: int,
    height: int,
    fps: int,
    crf: int = 23,
    preset: str = "veryfast",
    timeout_s: float = 600.0,
) -> None:
    """Write `src` fitted to duration/size/fps to `out_path` (H.264, no audio).

    Raises:
        TerminalBackendError: `invalid_media` when FFmpeg cannot decode what the backend returned,
            `fit_timeout` when FFmpeg takes longer than `timeout_s`.
    """
    args = fit_args(src, out_path, duration=duration, width=width, height=height, fps=fps, crf=crf, preset=preset)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        await run_ffmpeg(args, timeout_s=timeout_s)
    except FFmpegError as exc:
        out_path.unlink(missing_ok=True)
        tail = exc.stderr_tail.strip().splitlines()[-1:] or ["no detail"]
        message = f"the returned clip cannot be used: {tail[0][:300]}"
        raise TerminalBackendError(backend, "invalid_media", message) from exc
    except TimeoutError as exc:
        out_path.unlink(missing_ok=True)
        raise TerminalBackendError(backend, "fit_timeout", f"fitting the clip took over {timeout_s:g} s") from exc


async def fit_to_shot(src: Path, out_path: Path, request: ClipRequest, *, backend: str, crf: int, preset: str,
                      timeout_s: float) -> None:
    """`fit_clip` to the shot `request` asks for: its duration, frame size and frame rate."""
    await fit_clip(src, out_path, backend=backend, duration=request.duration, width=request.width,
                   height=request.height, fps=request.fps, crf=crf, preset=preset, timeout_s=timeout_s)


async def generate_and_fit(generate: Callable[[], Awaitable[object]], raw: Path, out_path: Path,
                           request: ClipRequest, *, backend: str, crf: int, preset: str, timeout_s: float) -> None:
    """Run `generate`, which writes the model's own clip to `raw`, then fit that clip to the shot at
    `out_path` (see `fit_clip`); `raw` is removed either way."""
    try:
        await generate()
        await fit_to_shot(raw, out_path, request, backend=backend, crf=crf, preset=preset, timeout_s=timeout_s)
    finally:
        raw.unlink(missing_ok=True)
