"""Compose a story's film: validate the shots, write the SRT, run one FFmpeg encode, grab a cover."""

from __future__ import annotations

import asyncio
import math
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from loguru import logger

from app.services.compose.ffmpeg_args import cover_args, film_args
from app.services.compose.models import ComposeInputError, ComposeOptions, ComposeResult, ShotMedia
from app.services.compose.subtitles import write_srt
from app.services.compose.timeline import build_cues, film_duration, shot_spans
from app.services.ffmpeg import media_duration, probe, run_ffmpeg

VIDEO_NAME = "video.mp4"
SRT_NAME = "subtitles.srt"
COVER_NAME = "cover.jpg"


async def compose_story(*, shots: list[ShotMedia], out_dir: Path, options: ComposeOptions) -> ComposeResult:
    """Assemble the shots into `out_dir`/video.mp4 with subtitles.srt and cover.jpg.

    Work goes to temporary names that replace the final ones only once everything succeeded;
    on any failure they are removed. Raises ComposeInputError for unusable shots and
    FFmpegError when FFmpeg fails.
    """
    validate_shots(shots)
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    shots = [_absolute(shot) for shot in shots]
    speech = await _speech_durations(shots)
    spans = shot_spans(shots, options.fps)
    cues = build_cues(shots, spans, speech)
    final = {name: out_dir / name for name in (SRT_NAME, COVER_NAME, VIDEO_NAME)}
    temp = {name: _temp_name(path) for name, path in final.items()}
    try:
        write_srt(cues, temp[SRT_NAME])
        srt = temp[SRT_NAME] if options.burn_subtitles and cues else None
        args = film_args(shots, spans, temp[VIDEO_NAME], options, srt_path=srt)
        await run_ffmpeg(args, timeout_s=options.timeout_s)
        await run_ffmpeg(cover_args(shots[0].clip_path, spans[0], temp[COVER_NAME], options), timeout_s=60)
        duration = await media_duration(temp[VIDEO_NAME])
        for name in final:  # the video last: its presence means the set is complete
            os.replace(temp[name], final[name])
    finally:
        for path in temp.values():
            path.unlink(missing_ok=True)
    logger.info(
        "composed {} shots into {} ({:.2f}s, planned {:.2f}s)",
        len(shots),
        final[VIDEO_NAME],
        duration,
        film_duration(spans),
    )
    return ComposeResult(
        video_path=final[VIDEO_NAME],
        srt_path=final[SRT_NAME],
        cover_path=final[COVER_NAME],
        duration=duration,
    )


def validate_shots(shots: Sequence[ShotMedia]) -> None:
    """Raise ComposeInputError unless there are shots, each with existing files and a positive length."""
    if not shots:
        raise ComposeInputError("no shots to compose")
    for shot in shots:
        if not (math.isfinite(shot.duration) and shot.duration > 0):
            raise ComposeInputError(f"shot {shot.shot_id}: duration must be > 0", shot_id=shot.shot_id)
        for kind, path in (("clip", shot.clip_path), ("narration", shot.audio_path)):
            if not path.is_file():
                raise ComposeInputError(f"shot {shot.shot_id}: {kind} file not found", shot_id=shot.shot_id)


async def _speech_durations(shots: Sequence[ShotMedia]) -> list[float | None]:
    """Probe every input: each clip must hold video and each narration audio; return narration lengths."""
    return list(await asyncio.gather(*(_check_shot(shot) for shot in shots)))


async def _check_shot(shot: ShotMedia) -> float | None:
    clip, audio = await asyncio.gather(probe(shot.clip_path), probe(shot.audio_path))
    if not _has_stream(clip, "video"):
        raise ComposeInputError(f"shot {shot.shot_id}: clip has no video stream", shot_id=shot.shot_id)
    if not _has_stream(audio, "audio"):
        raise ComposeInputError(f"shot {shot.shot_id}: narration has no audio stream", shot_id=shot.shot_id)
    try:
        return float(audio["format"]["duration"])
    except (KeyError, TypeError, ValueError):
        return None


def _has_stream(info: dict, codec_type: str) -> bool:
    return any(stream.get("codec_type") == codec_type for stream in info.get("streams", []))


def _absolute(shot: ShotMedia) -> ShotMedia:
    return shot.model_copy(update={"clip_path": shot.clip_path.resolve(), "audio_path": shot.audio_path.resolve()})


def _temp_name(path: Path) -> Path:
    """A hidden sibling of `path` with a random token, keeping the suffix."""
    return path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
