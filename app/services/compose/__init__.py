"""Composition: per-shot clips and narration into the final MP4, with burned-in subtitles and SRT."""

from app.services.compose.engine import compose_story
from app.services.compose.models import ComposeInputError, ComposeOptions, ComposeResult, ShotMedia

__all__ = ["ComposeInputError", "ComposeOptions", "ComposeResult", "ShotMedia", "compose_story"]
