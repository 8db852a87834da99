"""Pure builders of FFmpeg argument lists for the film and its cover (no process is run here).

The film is one encode: every clip is normalized to the output format and fitted to its shot's
frames, every narration is resampled and padded to the same length, the pairs are concatenated,
and subtitles are burned in with libass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from app.services.compose.models import ComposeOptions, ShotMedia
from app.services.compose.timeline import ShotSpan

AUDIO_RATE = 48_000
AUDIO_BITRATE = "160k"
#: Read this much more of each clip than its shot needs (the rest is never decoded).
INPUT_SLACK_S = 1.0
#: FFmpeg lays SRT on an ASS canvas 288 units high that libass scales to the frame height.
SRT_PLAY_RES = (384, 288)

_GRAPH_SPECIAL = re.compile(r"([\\'\[\],;])")
_OPTION_SPECIAL = re.compile(r"([\\':])")


def escape_option_value(value: str) -> str:
    """Escape a filter option value (first level: backslash, quote, colon)."""
    return _OPTION_SPECIAL.sub(r"\\\1", value)


def escape_graph(text: str) -> str:
    """Escape a filter's argument string for the filter graph (second level: `\\ ' [ ] , ;`)."""
    return _GRAPH_SPECIAL.sub(r"\\\1", text)


def file_arg(path: Path) -> str:
    """A path as FFmpeg should read it: relative paths get `file:` so `a:b.mp4` is not a protocol."""
    return str(path) if path.is_absolute() else f"file:{path}"


def normalize_video(options: ComposeOptions) -> str:
    """Filter chain: any clip to the output's frame rate, size (fit and pad), square pixels, yuv420p."""
    w, h = options.width, options.height
    return ",".join(
        [
            "setpts=PTS-STARTPTS",
            f"fps={options.fps}",
            f"scale={w}:{h}:force_original_aspect_ratio=decrease",
            f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black",
            "setsar=1",
            "format=yuv420p",
        ]
    )


def fit_video(span: ShotSpan) -> str:
    """Filter chain: hold the last frame if the clip is short, then cut it to exactly the shot's frames."""
    return f"tpad=stop_mode=clone:stop_duration={span.duration:.3f},trim=end_frame={span.frames},setpts=PTS-STARTPTS"


def span_samples(span: ShotSpan) -> int:
    """Audio samples at AUDIO_RATE in a shot, cut at the same instants as its frames."""
    return round(span.end * AUDIO_RATE) - round(span.start * AUDIO_RATE)


def fit_audio(span: ShotSpan) -> str:
    """Filter chain: narration to 48 kHz stereo, padded with silence and cut to the shot's length."""
    samples = span_samples(span)
    return ",".join(
        [
            "asetpts=PTS-STARTPTS",
            f"aresample={AUDIO_RATE}",
            f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo",
            f"apad=whole_len={samples}",
            f"atrim=end_sample={samples}",
            "asetpts=N/SR/TB",
        ]
    )


def subtitle_style(options: ComposeOptions) -> str:
    """libass `force_style` for SRT: font, size, outline and margins scaled to the output frame."""
    w, h = options.width, options.height
    to_y = SRT_PLAY_RES[1] / h
    to_x = SRT_PLAY_RES[0] / w
    font_px = 0.055 * min(w, h)
    font = options.font.replace(",", " ").replace("=", " ").strip()
    fields = {
        "FontName": font,
        "FontSize": _num(font_px * to_y),
        "PrimaryColour": "&H00FFFFFF",
        "OutlineColour": "&H00000000",
        "BorderStyle": "1",
        "Outline": _num(font_px * 0.08 * to_y),
        "Shadow": "0",
        "Alignment": "2",
        "MarginV": _num(0.05 * h * to_y),
        "MarginL": _num(0.04 * w * to_x),
        "MarginR": _num(0.04 * w * to_x),
    }
    return ",".join(f"{key}={value}" for key, value in fields.items())


def subtitles_filter(srt_path: Path, options: ComposeOptions) -> str:
    """The `subtitles=` filter for the graph, with the path and style escaped on both levels."""
    args = (
        f"filename={escape_option_value(str(srt_path))}"
        f":charenc=UTF-8:force_style={escape_option_value(subtitle_style(options))}"
    )
    return f"subtitles={escape_graph(args)}"


def film_graph(spans: Sequence[ShotSpan], options: ComposeOptions, srt_path: Path | None) -> str:
    """The `-filter_complex` graph; inputs are clip i at 2i and narration i at 2i+1.

    Outputs `[vout]` and `[aout]`. Subtitles are burned in when `srt_path` is given.
    """
    chains = []
    pairs = []
    for i, span in enumerate(spans):
        chains.append(f"[{2 * i}:v]{normalize_video(options)},{fit_video(span)}[v{i}]")
        chains.append(f"[{2 * i + 1}:a]{fit_audio(span)}[a{i}]")
        pairs.append(f"[v{i}][a{i}]")
    video_out = "[vcat]" if srt_path is not None else "[vout]"
    chains.append(f"{''.join(pairs)}concat=n={len(spans)}:v=1:a=1{video_out}[aout]")
    if srt_path is not None:
        chains.append(f"[vcat]{subtitles_filter(srt_path, options)}[vout]")
    return ";".join(chains)


def encode_args(options: ComposeOptions) -> list[str]:
    """Output codec options: H.264 yuv420p at constant rate, AAC 48 kHz stereo, moov up front."""
    return [
        *("-c:v", "libx264", "-preset", options.preset, "-crf", str(options.crf)),
        *("-pix_fmt", "yuv420p", "-r", str(options.fps)),
        *("-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE), "-ac", "2"),
        *("-movflags", "+faststart"),
    ]


def film_args(
    shots: Sequence[ShotMedia],
    spans: Sequence[ShotSpan],
    out_path: Path,
    options: ComposeOptions,
    *,
    srt_path: Path | None = None,
) -> list[str]:
    """Arguments (after `ffmpeg`) for the whole film in one encode, written to `out_path` as MP4."""
    if len(shots) != len(spans) or not shots:
        raise ValueError("need one span per shot, and at least one shot")
    inputs: list[str] = []
    for shot, span in zip(shots, spans, strict=True):
        inputs += ["-t", f"{span.duration + INPUT_SLACK_S:.3f}", "-i", file_arg(shot.clip_path)]
        inputs += ["-i", file_arg(shot.audio_path)]
    return [
        *inputs,
        *("-filter_complex", film_graph(spans, options, srt_path)),
        *("-map", "[vout]", "-map", "[aout]"),
        *encode_args(options),
        *("-f", "mp4", file_arg(out_path)),
    ]


def cover_args(clip_path: Path, span: ShotSpan, out_path: Path, options: ComposeOptions) -> list[str]:
    """Arguments for a JPEG cover: the normalized frame in the middle of a shot (no subtitles)."""
    middle = span.frames // 2
    chain = (
        f"[0:v]{normalize_video(options)},tpad=stop_mode=clone:stop_duration={span.duration:.3f},"
        f"trim=start_frame={middle}:end_frame={middle + 1},setpts=PTS-STARTPTS[cover]"
    )
    return [
        *("-t", f"{span.duration + INPUT_SLACK_S:.3f}", "-i", file_arg(clip_path)),
        *("-filter_complex", chain, "-map", "[cover]"),
        *("-frames:v", "1", "-q:v", "2", "-f", "image2", "-update", "1", file_arg(out_path)),
    ]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
