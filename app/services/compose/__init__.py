"""Composition: per-shot clips and narration into the final MP4 (one encode), with transitions,
ducked music, normalized loudness, burned-in ASS subtitles, and SRT/WebVTT files (docs/composition.md)."""

from app.core.errors import ComposeInputError
from app.services.compose.engine import ComposeProgress, compose_story
from app.services.compose.models import ClipInfo, ComposeOptions, ComposeResult, ShotMedia

__all__ = [
    "ClipInfo",
    "ComposeInputError",
    "ComposeOptions",
    "ComposeProgress",
    "ComposeResult",
    "ShotMedia",
    "compose_story",
]
