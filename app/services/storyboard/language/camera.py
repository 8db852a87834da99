"""Camera terms: choosing one per shot, and mapping a user's camera wish onto CAMERA_TERMS."""

from __future__ import annotations

import re

from app.models.storyboard import CAMERA_TERMS
from app.services.storyboard.language.cues import has_cue
from app.services.storyboard.language.text import digest, pick
from app.services.storyboard.language.vocab import CAMERA_ALIASES, EMOTION_CUES, MOTION_CUES, MYSTERY_CUES, VARIETY

_PULL_OUT = ("拉镜头", "垂直升降")


def choose_camera(text: str, role: str, index: int, previous: str, lang: str) -> str:
    """A camera term for a shot by its role and cue words, never the previous shot's."""
    if role == "opening":
        options: tuple[str, ...] = pick((_PULL_OUT, _PULL_OUT[::-1]), text)
    elif role == "ending":
        options = _PULL_OUT
    elif has_cue(text, EMOTION_CUES, lang):
        options = ("推镜头", "环绕主体")
    elif has_cue(text, MOTION_CUES, lang):
        options = ("锁定跟随", "水平横移")
    elif has_cue(text, MYSTERY_CUES, lang):
        options = ("左右摇镜", "上下摇镜")
    else:
        start = (index + digest(text)) % len(VARIETY)
        options = VARIETY[start:] + VARIETY[:start]
    return next(c for c in (*options, *VARIETY) if c != previous)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[-_]+", " ", text.lower()).split())


def resolve_camera(value: str) -> str | None:
    """Map a camera term, English label or loose synonym ("push-in", "zoom out") to a CAMERA_TERMS key.

    Returns None when nothing matches.
    """
    wanted = _norm(value)
    for key, label in CAMERA_TERMS.items():
        if wanted in (_norm(key), _norm(label)):
            return key
    for key, aliases in CAMERA_ALIASES:
        if any(alias in wanted for alias in aliases):
            return key
    return None
