"""Reading a text against the word tables: its tone and key action."""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.services.storyboard.language.text import localized
from app.services.storyboard.language.vocab import ACTIONS, TONE_CUES

#: (zh cues, en cues)
CuePair = tuple[tuple[str, ...], tuple[str, ...]]


def cue_positions(text: str, pair: CuePair, lang: str) -> list[int]:
    """Start positions of every cue of the language in text (English cues as whole words, case-insensitive)."""
    cues = localized(pair, lang)
    if lang == "zh":
        return [m.start() for cue in cues for m in re.finditer(re.escape(cue), text)]
    return [m.start() for cue in cues for m in re.finditer(rf"\b{re.escape(cue)}\b", text, re.I)]


def has_cue(text: str, pair: CuePair, lang: str) -> bool:
    return bool(cue_positions(text, pair, lang))


def _first_cued(text: str, rows: Sequence[tuple[tuple[str, ...], tuple[str, ...], str, str, str]], lang: str
                ) -> int | None:
    """Index of the row, each starting (zh cues, en cues, ...), whose cue comes first in text."""
    found = []
    for index, (zh, en, *_rest) in enumerate(rows):
        positions = cue_positions(text, (zh, en), lang)
        if positions:
            found.append((min(positions), index))
    return min(found)[1] if found else None


def detect_tone(text: str, language: str, default: str = "calm") -> str:
    """The tone (one of TONES) with most cue words in text, else `default`."""
    best, best_hits = default, 0
    for tone, pair in TONE_CUES.items():
        hits = len(cue_positions(text, pair, language))
        if hits > best_hits:
            best, best_hits = tone, hits
    return best


def key_action(text: str, lang: str) -> tuple[str, str, str] | None:
    """The action whose cue comes first in text, as (zh predicate, en verb phrase, en state)."""
    index = _first_cued(text, ACTIONS, lang)
    return None if index is None else ACTIONS[index][2:]
