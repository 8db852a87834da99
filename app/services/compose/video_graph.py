"""Pure builders of the film's picture: one producer per shot and one encoder.

Each shot's producer decodes its clip (and, for a transition, the next clip's first frames),
normalizes it to the output frame rate, size and pixel format, fits it to its frames and writes raw
frames to stdout. The encoder reads the producers' frames one shot after another from its stdin,
burns in the subtitles, encodes the picture once and grabs the cover on the way. So no clip is ever
encoded twice, and only one or two clips are decoded at any time, however long the film.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.services.compose.ffmpeg_args import INPUT_SLACK_S, ass_filter, file_arg, seconds, video_codec_args
from app.services.compose.models import ClipInfo, ComposeOptions
from app.services.compose.timeline import Segment

XFADE = {"crossfade": "fade", "fadeblack": "fadeblack"}


def frame_fit(options: ComposeOptions) -> list[str]:
    """Filters that bring any frame to the output size: scale then pad (letter/pillarbox) or crop."""
    w, h = options.width, options.height
    if options.fit == "crop":
        return [f"scale={w}:{h}:force_original_aspect_ratio=increase", f"crop={w}:{h}"]
    return [
        f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2",
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black",
    ]


def slowdown(info: ClipInfo, frames: int, options: ComposeOptions) -> float:
    """Playback slowdown for a clip shorter than the `frames` it must fill (1 = none).

    With short_clip=slow the clip is slowed as far as max_slowdown allows; the rest is held.
    """
    if options.short_clip != "slow" or not info.duration or info.duration <= 0:
        return 1.0
    return max(1.0, min(options.max_slowdown, frames / options.fps / info.duration))


def fit_chain(info: ClipInfo, frames: int, options: ComposeOptions) -> str:
    """Filter chain: a clip at the output rate, size and format, exactly `frames` long.

    Longer clips are cut; shorter ones are slowed (if allowed) and then hold their last frame.
    """
    factor = slowdown(info, frames, options)
    timing = "setpts=PTS-STARTPTS" if factor == 1.0 else f"setpts=(PTS-STARTPTS)*{factor:.6f}"
    return ",".join(
        [
            timing,
            f"fps={options.fps}",
            *frame_fit(options),
            "setsar=1",
            "format=yuv420p",
            f"tpad=stop_mode=clone:stop_duration={seconds(frames / options.fps)}",
            f"trim=end_frame={frames}",
        ]
    )


def read_limit(info: ClipInfo, frames: int, options: ComposeOptions) -> float:
    """Seconds of the clip to read for `frames` output frames (with slack; the rest is never decoded)."""
    return frames / options.fps / slowdown(info, frames, options) + INPUT_SLACK_S


def producer_graph(segment: Segment, next_segment: Segment | None, infos: Sequence[ClipInfo],
                   options: ComposeOptions) -> str:  # fmt: skip
    """Graph of one shot's producer: input 0 is its clip, input 1 the next clip (transitions only).

    Writes `[v]`: the clip's frames [skip, length), the last `blend` of them blended into the next
    clip's first frames.
    """
    i = segment.index
    own = f"[0:v]{fit_chain(infos[i], segment.length, options)},trim=start_frame={segment.skip},setpts=PTS-STARTPTS"
    if not segment.blend or next_segment is None:
        return f"{own}[v]"
    incoming = f"[1:v]{fit_chain(infos[i + 1], next_segment.length, options)},trim=end_frame={segment.blend}"
    offset = (segment.out_frames - segment.blend) / options.fps
    xfade = (
        f"xfade=transition={XFADE[options.transition]}:duration={seconds(segment.blend / options.fps)}"
        f":offset={seconds(offset)}"
    )
    return f"{own}[a];{incoming},setpts=PTS-STARTPTS[b];[a][b]{xfade}[v]"


def producer_args(segments: Sequence[Segment], index: int, clips: Sequence[Path], infos: Sequence[ClipInfo],
                  options: ComposeOptions) -> list[str]:  # fmt: skip
    """Arguments for shot `index`'s producer: raw yuv420p frames of the output size on stdout."""
    segment = segments[index]
    inputs = ["-t", seconds(read_limit(infos[index], segment.length, options)), "-i", file_arg(clips[index])]
    following = segments[index + 1] if segment.blend and index + 1 < len(segments) else None
    if following is not None:
        limit = read_limit(infos[index + 1], following.length, options)
        inputs += ["-t", seconds(limit), "-i", file_arg(clips[index + 1])]
    return [
        *inputs,
        *("-filter_complex", producer_graph(segment, following, infos, options), "-map", "[v]"),
        *("-an", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"),
    ]


def encoder_args(
    out_path: Path, options: ComposeOptions, *, ass_path: Path | None = None, cover: tuple[Path, int] | None = None
) -> list[str]:
    """Arguments for the film's one picture encode: raw frames on stdin, subtitles burned in.

    With `cover` (path, frame number), that frame is also written as a JPEG (before subtitles).
    """
    burn = ass_filter(ass_path) if ass_path is not None else "null"
    chains, picture = [], "[0:v]"
    if cover is not None:
        chains.append(f"[0:v]split=2[picture][still];[still]select=eq(n\\,{cover[1]}),setpts=PTS-STARTPTS[cover]")
        picture = "[picture]"
    chains.append(f"{picture}{burn}[vout]")
    args = [
        *("-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{options.width}x{options.height}"),
        *("-framerate", str(options.fps), "-i", "pipe:0"),
        *("-filter_complex", ";".join(chains), "-map", "[vout]"),
        *video_codec_args(options),
        *("-an", "-f", "mp4", file_arg(out_path)),
    ]
    if cover is not None:
        args += ["-map", "[cover]", "-frames:v", "1", "-q:v", "2", "-f", "image2", "-update", "1", file_arg(cover[0])]
    return args
