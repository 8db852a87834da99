"""Pure rendering of subtitle cues as SRT, WebVTT and ASS (for libass), and writing them to disk."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.services.compose.layout import SubtitleLayout
from app.services.compose.timeline import Cue

ASS_STYLE_FORMAT = (
    "Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
    "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, "
    "MarginL, MarginR, MarginV, Encoding"
)
ASS_EVENT_FORMAT = "Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"


def _clock(seconds: float, separator: str) -> str:
    total_ms = max(0, round(seconds * 1000))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt_timestamp(seconds: float) -> str:
    """`HH:MM:SS,mmm` for a time in seconds (rounded to the millisecond, never negative)."""
    return _clock(seconds, ",")


def vtt_timestamp(seconds: float) -> str:
    """`HH:MM:SS.mmm` for a time in seconds (rounded to the millisecond, never negative)."""
    return _clock(seconds, ".")


def ass_timestamp(seconds: float) -> str:
    """`H:MM:SS.cc` for a time in seconds (rounded to the centisecond, never negative)."""
    total_cs = max(0, round(seconds * 100))
    hours, rest = divmod(total_cs, 360_000)
    minutes, rest = divmod(rest, 6000)
    secs, centis = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{centis:02d}"


def _lines(cue: Cue) -> tuple[str, ...]:
    return cue.lines or (cue.text,)


def to_srt(cues: Sequence[Cue]) -> str:
    """SRT text: 1-based blocks of index, `start --> end` and the cue's lines, separated by blank lines."""
    blocks = []
    for index, cue in enumerate(cues, start=1):
        lines = "\n".join(_lines(cue))
        blocks.append(f"{index}\n{srt_timestamp(cue.start)} --> {srt_timestamp(cue.end)}\n{lines}\n")
    return "\n".join(blocks)


def vtt_escape(text: str) -> str:
    """Cue text safe for WebVTT: `&`, `<` and `>` as character references."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT text: the header, then `start --> end` and the cue's lines per block."""
    blocks = ["WEBVTT\n"]
    for cue in cues:
        lines = "\n".join(vtt_escape(line) for line in _lines(cue))
        blocks.append(f"{vtt_timestamp(cue.start)} --> {vtt_timestamp(cue.end)}\n{lines}\n")
    return "\n".join(blocks)


def ass_escape(text: str) -> str:
    """Text for an ASS Dialogue: braces and backslashes cannot start override tags or line breaks."""
    return text.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}").replace("\n", " ")


def ass_style(layout: SubtitleLayout, font: str) -> str:
    """The `Default` style: white text with a black outline (no shadow: cheaper to blend on every frame),
    bottom-centred in the safe area."""
    fields = [
        "Default",
        font.replace(",", " "),
        str(layout.font_size),
        "&H00FFFFFF",
        "&H000000FF",
        "&H00000000",
        "&H80000000",
        *("0", "0", "0", "0"),
        *("100", "100", "0", "0"),
        "1",
        _num(layout.outline),
        "0",
        "2",
        str(layout.margin_lr),
        str(layout.margin_lr),
        str(layout.margin_bottom),
        "1",
    ]
    return "Style: " + ",".join(fields)


def to_ass(cues: Sequence[Cue], layout: SubtitleLayout, font: str) -> str:
    """A complete ASS script on a canvas the size of the frame; lines break only where the cues say."""
    header = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {layout.width}",
        f"PlayResY: {layout.height}",
        "WrapStyle: 2",
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        f"Format: {ASS_STYLE_FORMAT}",
        ass_style(layout, font),
        "",
        "[Events]",
        f"Format: {ASS_EVENT_FORMAT}",
    ]
    events = [
        f"Dialogue: 0,{ass_timestamp(cue.start)},{ass_timestamp(cue.end)},Default,,0,0,0,,"
        + "\\N".join(ass_escape(line) for line in _lines(cue))
        for cue in cues
    ]
    return "\n".join([*header, *events]) + "\n"


def write_text(text: str, path: Path) -> Path:
    """Write `text` to `path` as UTF-8 (no BOM, LF line ends) and return the path."""
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def write_srt(cues: Sequence[Cue], path: Path) -> Path:
    """Write the cues to `path` as SRT."""
    return write_text(to_srt(cues), path)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
