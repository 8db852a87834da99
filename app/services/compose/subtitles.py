"""Pure SRT rendering of subtitle cues, and writing it to disk."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.services.compose.timeline import Cue


def srt_timestamp(seconds: float) -> str:
    """`HH:MM:SS,mmm` for a time in seconds (rounded to the millisecond, never negative)."""
    total_ms = max(0, round(seconds * 1000))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def to_srt(cues: Sequence[Cue]) -> str:
    """SRT text: 1-based blocks of index, `start --> end` and the cue's lines, separated by blank lines."""
    blocks = []
    for index, cue in enumerate(cues, start=1):
        lines = "\n".join(cue.lines or (cue.text,))
        blocks.append(f"{index}\n{srt_timestamp(cue.start)} --> {srt_timestamp(cue.end)}\n{lines}\n")
    return "\n".join(blocks)


def write_srt(cues: Sequence[Cue], path: Path) -> Path:
    """Write the cues to `path` as UTF-8 SRT (no BOM, LF line ends) and return the path."""
    path.write_text(to_srt(cues), encoding="utf-8", newline="\n")
    return path
