"""FFmpeg and ffprobe: probing, one runner (killable at shutdown), raw RGB frame pipes, pure argv builders."""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .errors import EnhanceError, MediaError

logger = logging.getLogger(__name__)

#: FFmpeg processes running now, so shutdown can stop them instead of leaving orphans.
_ACTIVE: set[subprocess.Popen] = set()
_ACTIVE_LOCK = threading.Lock()


@dataclass(frozen=True)
class VideoInfo:
    """What the pipeline needs to know about a video file."""

    width: int
    height: int
    fps: Fraction
    duration_s: float
    frames: int
    has_audio: bool
    video_codec: str = ""

    @property
    def pixels(self) -> int:
        return self.width * self.height


def probe(path: Path, *, timeout_s: float = 60) -> VideoInfo:
    """Read a video's size, rate, length and whether it has audio; ``EnhanceError(invalid_video)`` if unreadable."""
    argv = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    try:
        out = subprocess.run(argv, capture_output=True, check=True, timeout=timeout_s).stdout
        info = json.loads(out)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        raise EnhanceError("the file is not a readable video", code="invalid_video") from exc
    video = next((s for s in info.get("streams", []) if s.get("codec_type") == "video"), None)
    if video is None:
        raise EnhanceError("the file has no video stream", code="invalid_video")
    return video_info(video, info)


def video_info(video: dict, info: dict) -> VideoInfo:
    """``VideoInfo`` from ffprobe's JSON (the video stream and the whole answer)."""
    fps = parse_rate(video.get("avg_frame_rate")) or parse_rate(video.get("r_frame_rate"))
    duration = float(video.get("duration") or info.get("format", {}).get("duration") or 0)
    if not fps or duration <= 0 or not video.get("width"):
        raise EnhanceError("the video has no usable frame rate, size or duration", code="invalid_video")
    frames = int(video["nb_frames"]) if str(video.get("nb_frames", "")).isdigit() else round(duration * fps)
    has_audio = any(s.get("codec_type") == "audio" for s in info.get("streams", []))
    return VideoInfo(int(video["width"]), int(video["height"]), fps, duration, frames, has_audio,
                     video.get("codec_name", ""))


def parse_rate(rate: str | None) -> Fraction | None:
    """``"24000/1001"`` -> Fraction; None for missing or zero rates."""
    try:
        value = Fraction(rate or "0")
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def run_ffmpeg(argv: list[str], *, timeout_s: float) -> None:
    """Run one FFmpeg command; raise ``MediaError`` with the stderr tail (for the log) on failure or timeout."""
    logger.debug("ffmpeg: %s", shlex.join(argv))
    proc = track(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    try:
        _, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise MediaError(f"ffmpeg timed out after {timeout_s:g} s", argv=argv) from None
    finally:
        untrack(proc)
    if proc.returncode != 0:
        raise MediaError(f"ffmpeg failed ({proc.returncode})", argv=argv,
                         stderr_tail=stderr.decode(errors="replace")[-4000:])


def track(proc: subprocess.Popen) -> subprocess.Popen:
    with _ACTIVE_LOCK:
        _ACTIVE.add(proc)
    return proc


def untrack(proc: subprocess.Popen) -> None:
    with _ACTIVE_LOCK:
        _ACTIVE.discard(proc)


def kill_active() -> int:
    """Kill every FFmpeg process this service started that is still running; return how many."""
    with _ACTIVE_LOCK:
        procs = [p for p in _ACTIVE if p.poll() is None]
    for proc in procs:
        proc.kill()
    return len(procs)


def read_rgb_frames(path: Path, info: VideoInfo) -> Iterator[bytes]:
    """Decode ``path`` to raw RGB24 frames (``width*height*3`` bytes each), in order."""
    argv = ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    size = info.width * info.height * 3
    proc = track(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    finished = False
    try:
        while len(frame := proc.stdout.read(size)) == size:
            yield frame
        finished = True
    finally:
        proc.stdout.close()
        if not finished and proc.poll() is None:
            proc.kill()  # the consumer stopped early
        stderr = proc.stderr.read().decode(errors="replace")
        proc.wait()
        untrack(proc)
    if proc.returncode != 0:
        raise MediaError("ffmpeg could not decode the video", argv=argv, stderr_tail=stderr[-4000:])


class FrameWriter:
    """Encode raw RGB24 frames written one by one into a near-lossless intermediate video (no audio)."""

    def __init__(self, path: Path, *, width: int, height: int, fps: Fraction):
        self.size = (width, height)
        self.argv = ["ffmpeg", "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
                     "-r", str(fps), "-i", "-", *intermediate_codec(), str(path)]
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> FrameWriter:
        self.proc = track(subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.PIPE))
        return self

    def write(self, frame: bytes) -> None:
        """Append one RGB24 frame of exactly ``width*height*3`` bytes."""
        self.proc.stdin.write(frame)

    def __exit__(self, exc_type: object, *_: object) -> None:
        proc = self.proc
        proc.stdin.close()
        stderr = proc.stderr.read().decode(errors="replace")
        proc.wait()
        untrack(proc)
        if proc.returncode != 0 and exc_type is None:
            raise MediaError("ffmpeg could not encode the frames", argv=self.argv, stderr_tail=stderr[-4000:])


def intermediate_codec() -> list[str]:
    """x264 at CRF 8 in 4:4:4: visually lossless, fast, small enough for short clips."""
    return ["-c:v", "libx264", "-preset", "veryfast", "-crf", "8", "-pix_fmt", "yuv444p"]


# ------------------------------------------------------------------------------------------ pure argv builders


def interpolate_filter(fps: Fraction, multi: int, mi_mode: str) -> str:
    """FFmpeg motion interpolation to ``fps * multi`` (``mci``: motion-compensated; ``blend``: cross-fade)."""
    target = fps * multi
    if mi_mode == "mci":
        return f"minterpolate=fps={target}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1"
    return f"minterpolate=fps={target}:mi_mode={mi_mode}"


def scale_filter(scale: int) -> str:
    """Lanczos upscaling by ``scale``, to even sizes (H.264 4:2:0 needs them)."""
    return f"scale=trunc(iw*{scale}/2)*2:trunc(ih*{scale}/2)*2:flags=lanczos"


def final_filters(filters: list[str], *, fps: Fraction) -> str:
    """The final chain: the pending filters, then hold the last frame (an engine may return a frame or two
    fewer), constant ``fps``, even size, 4:2:0. ``-t`` then cuts to the source's length."""
    return ",".join([*filters, "tpad=stop_mode=clone:stop_duration=2", f"fps={fps}",
                     "pad=ceil(iw/2)*2:ceil(ih/2)*2", "format=yuv420p"])


def final_encode_args(*, video_in: Path, audio_src: Path, out: Path, filters: list[str], fps: Fraction,
                      duration_s: float, has_audio: bool, crf: int, preset: str, audio_bitrate: str) -> list[str]:
    """H.264 + AAC MP4 of ``video_in`` (filtered) with the ORIGINAL audio of ``audio_src``, cut to ``duration_s``
    so picture and sound keep the source's timing."""
    audio = ["-map", "1:a:0", "-c:a", "aac", "-b:a", audio_bitrate] if has_audio else ["-an"]
    return ["ffmpeg", "-y", "-v", "error", "-i", str(video_in), "-i", str(audio_src), "-map", "0:v:0", *audio,
            "-vf", final_filters(filters, fps=fps), "-t", f"{duration_s:.6f}", "-c:v", "libx264", "-preset", preset,
            "-crf", str(crf), "-movflags", "+faststart", str(out)]
