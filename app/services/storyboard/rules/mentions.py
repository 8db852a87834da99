"""Finding a character's words in a text: whether a text names it, where, and what follows."""

from __future__ import annotations

import re

from app.services.storyboard.language.text import CJK_RE
from app.services.storyboard.rules.members import Member


def mentions(names: set[str], text: str) -> bool:
    """Whether text names any of `names` (Latin names as whole words, "the" left out)."""
    return any(_find(name, text) >= 0 for name in names)


def first_mention(member: Member, text: str) -> int:
    """Where text first names a character by any of its words; len(text) when it never does."""
    starts = [_find(name, text) for name in {member.name, *member.forms}]
    return min((s for s in starts if s >= 0), default=len(text))


def text_after(text: str, member: Member) -> str:
    """The words of a premise that follow the first mention of a character, with its apposition or
    naming ("小机器人嘟嘟", "a giraffe named Gigi")."""
    spans = sorted((m.start(), m.end()) for name in {member.name, *member.forms} for m in name_re(name).finditer(text))
    if not spans:
        return ""
    end = spans[0][1]
    for start, stop in spans[1:]:
        if re.fullmatch(r"\s*(?:(?:named|called|叫|名叫)\s*)?", text[end:start]):
            end = max(end, stop)
    return text[end:].strip()


def name_re(name: str) -> re.Pattern[str]:
    """A character's word as a pattern: Chinese as is, Latin as whole words without "the"."""
    bare = name.removeprefix("the ")
    if CJK_RE.search(bare):
        return re.compile(re.escape(bare))
    return re.compile(rf"(?<![A-Za-z]){re.escape(bare)}(?![A-Za-z])", re.I)


def _find(name: str, text: str) -> int:
    m = name_re(name).search(text)
    return m.start() if m else -1
