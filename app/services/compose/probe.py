"""What composition reads from its inputs before planning: clip lengths and sound, narration lengths.

MP4/MOV clips and PCM WAV narrations are read directly (no process); anything else is probed.
"""

from __future__ import annotations

import asyncio
import contextlib
import wave
from collections.abc import Sequence
from pathlib import Path

from app.core.errors import ComposeInputError
from app.services.compose.models import ClipInfo, ShotMedia
from app.services.compose.mp4info import read_tracks
from app.services.ffmpeg import media_duration, probe

#: ffprobe runs at once (each is short; more only contend for the CPU).
PROBE_CONCURRENCY = 4


async def probe_shots(shots: Sequence[ShotMedia]) -> tuple[list[ClipInfo], list[float | None]]:
    """Each clip's info and each narration's length; raise ComposeInputError for an unusable input."""
    limit = asyncio.Semaphore(PROBE_CONCURRENCY)

    async def one(shot: ShotMedia) -> tuple[ClipInfo, float | None]:
        async with limit:
            return await _clip_info(shot), await _speech_duration(shot)

    results = await asyncio.gather(*(one(shot) for shot in shots))
    return [info for info, _ in results], [speech for _, speech in results]


async def _clip_info(shot: ShotMedia) -> ClipInfo:
    tracks = read_tracks(shot.clip_path) or []
    video = next((t for t in tracks if t.kind == "vide" and t.duration), None)
    if video is not None:  # an MP4/MOV read directly: no process to start
        return ClipInfo(duration=video.duration, has_audio=any(t.kind == "soun" for t in tracks))
    info = await probe(shot.clip_path)
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if video is None:
        raise ComposeInputError(f"shot {shot.shot_id}: clip has no video stream", shot_id=shot.shot_id)
    duration = _number(video.get("duration")) or _number(info.get("format", {}).get("duration"))
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    return ClipInfo(duration=duration, has_audio=has_audio)


async def _speech_duration(shot: ShotMedia) -> float | None:
    """The narration's length: read from a PCM WAV header directly, else from ffprobe."""
    duration = wav_duration(shot.audio_path)
    if duration is not None:
        return duration
    info = await probe(shot.audio_path)
    if not any(s.get("codec_type") == "audio" for s in info.get("streams", [])):
        raise ComposeInputError(f"shot {shot.shot_id}: narration has no audio stream", shot_id=shot.shot_id)
    return _number(info.get("format", {}).get("duration"))


async def video_duration(path: Path) -> float:
    """Length of a film's picture: from its MP4 header, else as ffprobe reports the file's."""
    duration = next((t.duration for t in read_tracks(path) or [] if t.kind == "vide" and t.duration), None)
    return duration if duration is not None else await media_duration(path)


def wav_duration(path: Path) -> float | None:
    """Length of a PCM WAV file from its header, or None when it is not one Python can read."""
    with contextlib.suppress(wave.Error, EOFError, OSError):
        with wave.open(str(path), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
            size = frames * wav.getsampwidth() * wav.getnchannels()
            if rate > 0 and 0 < size <= path.stat().st_size:  # a streamed WAV's header can lie
                return frames / rate
    return None


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
