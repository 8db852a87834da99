"""Grouping a script's sentences, in order, into the beats of 4–12 shots."""

from __future__ import annotations

from dataclasses import dataclass

from app.services.storyboard.language.text import join_text, partition, speech_length, split_clauses
from app.services.storyboard.language.vocab import MAX_SHOTS, MAX_UNITS, MIN_SHOTS, TARGET_UNITS


@dataclass
class Beat:
    """One planned shot before rendering: its narration and narrative role."""

    narration: str
    role: str  # opening | middle | ending
    tone: str = ""


def script_beats(paragraphs: list[list[str]], lang: str) -> list[Beat] | None:
    """Group a script's sentences, in order, into 4–12 beats; None when it has under 4 pieces."""
    total = sum(speech_length(s) for p in paragraphs for s in p)
    shots = min(MAX_SHOTS, max(MIN_SHOTS, round(total / TARGET_UNITS)))
    pieces, starts = pieces_of(paragraphs, max(MAX_UNITS, total / shots))
    if len(pieces) < MIN_SHOTS:
        pieces, starts = pieces_of(paragraphs, max(10.0, total / MIN_SHOTS))
    if len(pieces) < MIN_SHOTS:
        return None
    bonus = [0.25 * total / shots if start else 0.0 for start in starts]
    cuts = partition([speech_length(p) for p in pieces], shots, bonus)
    bounds = list(zip([0, *cuts], [*cuts, len(pieces)], strict=True))
    return [Beat(join_text(pieces[a:b], lang), _role(i, len(bounds))) for i, (a, b) in enumerate(bounds)]


def pieces_of(paragraphs: list[list[str]], limit: float) -> tuple[list[str], list[bool]]:
    """Sentences cut at clauses where over `limit`, with a flag for each paragraph's first piece."""
    pieces: list[str] = []
    starts: list[bool] = []
    for sentences in paragraphs:
        for n, piece in enumerate(p for s in sentences for p in split_clauses(s, limit)):
            pieces.append(piece)
            starts.append(n == 0)
    return pieces, starts


def _role(index: int, count: int) -> str:
    return "opening" if index == 0 else "ending" if index == count - 1 else "middle"
