"""Pure text helpers for subtitles: split narration into cue-sized chunks and wrap them into lines.

Widths are measured in units where one line holds `LINE_UNITS`: a wide (CJK) character costs
`WIDE_UNITS` (18 per line) and any other character `NARROW_UNITS` (42 per line).
"""

from __future__ import annotations

import re
import unicodedata

WIDE_UNITS = 7
NARROW_UNITS = 3
LINE_UNITS = 126
MAX_LINES = 2

_SENTENCE_END = frozenset("。！？!?；;….")
_CLAUSE_END = frozenset("，,、：:")
_ASCII_NEEDS_SPACE = frozenset(".!?;,:")  # these end a piece only before a space or the end
_CLOSERS = frozenset("\"'”’」』）)]】》")
_SPACE = re.compile(r"\s+")
_ABBREVIATION = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|Mt|No)|\b[A-Z])$")
_INFEASIBLE = 10_000

Span = tuple[int, int]


def normalize(text: str) -> str:
    """Collapse runs of whitespace into single spaces and trim the ends."""
    return _SPACE.sub(" ", text).strip()


def is_wide(char: str) -> bool:
    """True for characters drawn double-width (CJK ideographs, kana, fullwidth punctuation)."""
    return unicodedata.east_asian_width(char) in ("W", "F")


def width(text: str) -> int:
    """Display width of `text` in line units."""
    return sum(WIDE_UNITS if is_wide(c) else NARROW_UNITS for c in text)


def split_cues(text: str, *, max_units: int = LINE_UNITS * MAX_LINES) -> list[str]:
    """Split narration into chunks at most `max_units` wide: by sentence, then clause, then word.

    The chunks are slices of the whitespace-normalized text: joined, they give it back in order.
    """
    text = normalize(text)
    spans: list[Span] = []
    for start, end in _pieces(text, 0, len(text), _SENTENCE_END):
        if width(text[start:end].strip()) <= max_units:
            spans.append((start, end))
        else:
            spans.extend(_pack(text, _pieces(text, start, end, _CLAUSE_END), max_units))
    return [text[start:end].strip() for start, end in spans]


def wrap_lines(text: str, *, line_units: int = LINE_UNITS) -> list[str]:
    """Wrap a chunk into as few lines of at most `line_units` as fit, balanced in width.

    Breaks at spaces when it can, else after punctuation or between CJK characters.
    """
    text = normalize(text)
    lines: list[str] = []
    while width(text) > line_units:
        lines_left = -(-width(text) // line_units)
        cut = _break(text, width(text) / lines_left, line_units, (lines_left - 1) * line_units)
        lines.append(text[:cut].strip())
        text = text[cut:].strip()
    return [*lines, text] if text else lines


def _pieces(text: str, start: int, end: int, marks: frozenset[str]) -> list[Span]:
    """Cut text[start:end] after each run of `marks` (and closing quotes) into contiguous spans."""
    spans: list[Span] = []
    i = start
    while i < end:
        i += 1
        if _ends_piece(text, i - 1, end, marks):
            while i < end and (text[i] in marks or text[i] in _CLOSERS):
                i += 1
            spans.append((start, i))
            start = i
    if start < end:
        spans.append((start, end))
    return _merge_bare(text, spans)


def _ends_piece(text: str, i: int, end: int, marks: frozenset[str]) -> bool:
    if text[i] not in marks:
        return False
    if text[i] == "." and _ABBREVIATION.search(text, 0, i):
        return False
    if text[i] in _ASCII_NEEDS_SPACE:
        return i + 1 == end or text[i + 1].isspace() or text[i + 1] in _CLOSERS
    return True


def _merge_bare(text: str, spans: list[Span]) -> list[Span]:
    """Attach spans without any letter or digit (stray punctuation, spaces) to the span before."""
    merged: list[Span] = []
    for start, end in spans:
        bare = not any(c.isalnum() for c in text[start:end])
        if merged and bare:
            merged[-1] = (merged[-1][0], end)
        elif merged and not any(c.isalnum() for c in text[slice(*merged[-1])]):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _pack(text: str, pieces: list[Span], max_units: int) -> list[Span]:
    """Greedily join adjacent pieces into spans at most `max_units` wide; split over-long pieces."""
    spans: list[Span] = []
    for piece in pieces:
        for start, end in _hard_split(text, piece, max_units):
            if spans and width(text[spans[-1][0] : end].strip()) <= max_units:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return spans


def _hard_split(text: str, span: Span, max_units: int) -> list[Span]:
    start, end = span
    parts: list[Span] = []
    while width(text[start:end].strip()) > max_units:
        cut = start + _break(text[start:end], max_units, max_units, None)
        parts.append((start, cut))
        start = cut
    return [*parts, (start, end)]


def _break(text: str, target: float, limit: int, rest_limit: int | None) -> int:
    """Index to cut `text` at: the head at most `limit` wide and close to `target` wide.

    Prefers cuts that leave a tail at most `rest_limit` wide, then spaces, punctuation, CJK gaps.
    """
    total = width(text)
    best: tuple[float, int] | None = None
    used = 0
    for i, char in enumerate(text[:-1]):
        used += width(char)
        if used > limit:
            break
        score = abs(used - target) + _break_penalty(text[i], text[i + 1])
        if rest_limit is not None and total - used > rest_limit:
            score += _INFEASIBLE
        if best is None or score < best[0]:
            best = (score, i + 1)
    return best[1] if best else 1


def _break_penalty(left: str, right: str) -> float:
    """Cost of a line break between `left` and `right`."""
    if left.isspace() or right.isspace():
        return 0
    if right in _SENTENCE_END or right in _CLAUSE_END or right in _CLOSERS:
        return 200
    if left in _SENTENCE_END or left in _CLAUSE_END:
        return 10
    if is_wide(left) or is_wide(right):
        return 25
    return 1000
