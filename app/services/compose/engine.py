"""Compose a story's film: probe, plan, write subtitles, make the sound and the picture side by side.

Steps (each FFmpeg run is built by a pure function and executed by app.services.ffmpeg):
1. probe the clips and narrations; plan spans, transitions and cues (plan.py);
2. write SRT and WebVTT (delivered) and ASS (for burn-in);
3. the sound is mixed (mastering.py, audio only); then, at the same time, it is encoded to AAC at
   the target loudness, and the picture is encoded once: per-shot producers pipe raw frames into
   the H.264 encoder, which burns in the subtitles and grabs the cover (video_graph.py);
4. put picture and sound together without re-encoding, `moov` first.
Work goes to temporary names that replace the final ones only once everything succeeded; on any
failure or cancellation FFmpeg is killed and they are removed.
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from loguru import logger

from app.core.errors import ComposeInputError
from app.services.compose.ffmpeg_args import mux_args
from app.services.compose.fonts import subtitle_measure
from app.services.compose.layout import subtitle_layout
from app.services.compose.mastering import encode_sound, mix_sound
from app.services.compose.models import ClipInfo, ComposeOptions, ComposeResult, ShotMedia
from app.services.compose.plan import FilmPlan, plan_film
from app.services.compose.probe import probe_shots, video_duration
from app.services.compose.subtitles import to_ass, to_srt, to_vtt, write_text
from app.services.compose.video_graph import encoder_args, producer_args
from app.services.ffmpeg import run_ffmpeg, run_ffmpeg_piped

VIDEO_NAME = "video.mp4"
SRT_NAME = "subtitles.srt"
VTT_NAME = "subtitles.vtt"
COVER_NAME = "cover.jpg"
#: Share of the progress reached when the sound is mixed, and when the picture is encoded.
MIX_SHARE = 0.04
ENCODE_SHARE = 0.98

#: Called with the share of the work done, from 0 to 1.
ComposeProgress = Callable[[float], Awaitable[None]]


async def compose_story(
    *, shots: list[ShotMedia], out_dir: Path, options: ComposeOptions, on_progress: ComposeProgress | None = None
) -> ComposeResult:
    """Assemble the shots into `out_dir`/video.mp4 with subtitles.srt, subtitles.vtt and cover.jpg.

    Raises ComposeInputError for unusable inputs and FFmpegError when FFmpeg fails. `on_progress`
    gets the share of the work done, from 0 to 1.
    """
    validate_inputs(shots, options)
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    shots = [_absolute(shot) for shot in shots]
    report = on_progress or _ignore
    await report(0.0)
    infos, speech = await probe_shots(shots)
    font_size = subtitle_layout(options.width, options.height).font_size
    measure = await asyncio.to_thread(subtitle_measure, options.font, font_size)
    plan = plan_film(shots, speech, options, measure)
    final = {name: out_dir / name for name in (SRT_NAME, VTT_NAME, COVER_NAME, VIDEO_NAME)}
    temp = {name: _temp_name(path) for name, path in final.items()}
    work = Path(tempfile.mkdtemp(prefix=".compose-", dir=out_dir))
    try:
        write_text(to_srt(plan.cues), temp[SRT_NAME])
        write_text(to_vtt(plan.cues), temp[VTT_NAME])
        picture = work / "picture.mp4"
        mix = await mix_sound(shots, infos, plan, options, work)
        await report(MIX_SHARE)
        async with asyncio.TaskGroup() as group:
            sound = group.create_task(encode_sound(mix, plan, options, work))
            group.create_task(_encode(shots, infos, plan, options, work, (picture, temp[COVER_NAME]), report))
        await run_ffmpeg(mux_args(picture, sound.result().path, temp[VIDEO_NAME]), timeout_s=options.timeout_s)
        duration = await video_duration(temp[VIDEO_NAME])
        for name in final:  # the video last: its presence means the set is complete
            os.replace(temp[name], final[name])
    finally:
        for path in temp.values():
            path.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    await report(1.0)
    loudness = sound.result().loudness
    logger.info("composed {} shots into {} ({:.2f}s, planned {:.2f}s, {:.1f} LUFS, {:.1f} dBTP)", len(shots),
                final[VIDEO_NAME], duration, plan.duration, loudness.integrated, loudness.true_peak)
    return ComposeResult(
        video_path=final[VIDEO_NAME],
        srt_path=final[SRT_NAME],
        vtt_path=final[VTT_NAME],
        cover_path=final[COVER_NAME],
        duration=duration,
        shot_durations=[span.duration for span in plan.spans],
        loudness_lufs=_finite(loudness.integrated),
        true_peak_db=_finite(loudness.true_peak),
    )


def validate_inputs(shots: Sequence[ShotMedia], options: ComposeOptions) -> None:
    """Raise ComposeInputError for unusable shots or a music file that does not exist."""
    validate_shots(shots)
    if options.music_path is not None and not options.music_path.is_file():
        raise ComposeInputError(f"music file not found: {options.music_path.name}")


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


async def _encode(shots: Sequence[ShotMedia], infos: Sequence[ClipInfo], plan: FilmPlan, options: ComposeOptions,
                  work: Path, outputs: tuple[Path, Path], report: ComposeProgress) -> None:  # fmt: skip
    """The one encode of the picture, fed shot by shot; `outputs` are the picture and the cover."""
    clips = [shot.clip_path for shot in shots]
    producers = [producer_args(plan.segments, i, clips, infos, options) for i in range(len(shots))]
    ass = None
    if options.burn_subtitles and plan.cues:
        ass = write_text(to_ass(plan.cues, plan.layout, options.font), work / "subtitles.ass")
    first = plan.spans[0]
    cover = (outputs[1], first.first_frame + first.frames // 2)
    encoder = encoder_args(outputs[0], options, ass_path=ass, cover=cover)

    async def progress(seconds: float) -> None:
        await report(MIX_SHARE + (ENCODE_SHARE - MIX_SHARE) * min(1.0, seconds / plan.duration))

    await run_ffmpeg_piped(producers, encoder, timeout_s=options.timeout_s, on_progress=progress)


async def _ignore(_: float) -> None:
    return None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _absolute(shot: ShotMedia) -> ShotMedia:
    return shot.model_copy(update={"clip_path": shot.clip_path.resolve(), "audio_path": shot.audio_path.resolve()})


def _temp_name(path: Path) -> Path:
    """A hidden sibling of `path` with a random token, keeping the suffix."""
    return path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
