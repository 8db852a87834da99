"""Shared pieces of the pure FFmpeg argument builders: escaping, input paths, output encoding."""

from __future__ import annotations

import re
from pathlib import Path

from app.services.compose.models import ComposeOptions

AUDIO_RATE = 48_000
AUDIO_BITRATE = "160k"
#: Read this much more of each input than its shot needs (the rest is never decoded).
INPUT_SLACK_S = 1.0

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


def seconds(value: float) -> str:
    """A duration for an FFmpeg option, to the microsecond."""
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def ass_filter(ass_path: Path) -> str:
    """The `ass=` filter (libass) for the graph, with the path escaped on both levels."""
    return f"ass={escape_graph('filename=' + escape_option_value(str(ass_path)))}"


def audio_format() -> str:
    """Filter chain: any audio to 48 kHz stereo float."""
    return f"aresample={AUDIO_RATE},aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo"


def fit_samples(samples: int) -> str:
    """Filter chain: any audio to 48 kHz stereo, padded with silence and cut to exactly `samples`."""
    return ",".join(
        ["asetpts=PTS-STARTPTS", audio_format(), f"apad=whole_len={samples}", f"atrim=end_sample={samples}",
         "asetpts=N/SR/TB"]
    )  # fmt: skip


def aac_codec_args() -> list[str]:
    """Audio codec options: AAC-LC, 48 kHz stereo."""
    return ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE), "-ac", "2"]


def video_codec_args(options: ComposeOptions) -> list[str]:
    """Picture codec options: H.264 yuv420p at a constant rate."""
    return [
        *("-c:v", "libx264", "-preset", options.preset, "-crf", str(options.crf)),
        *("-pix_fmt", "yuv420p", "-r", str(options.fps)),
    ]


def mux_args(picture_path: Path, sound_path: Path, out_path: Path) -> list[str]:
    """Put the encoded picture and sound together (no re-encoding), moov before mdat for streaming."""
    return [
        *("-i", file_arg(picture_path), "-i", file_arg(sound_path)),
        *("-map", "0:v", "-map", "1:a", "-c", "copy", "-movflags", "+faststart"),
        *("-f", "mp4", file_arg(out_path)),
    ]
