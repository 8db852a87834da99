"""Pure text helpers for subtitles: split narration into cue-sized chunks and wrap them into lines.

Widths come from a `Measure` (text → width). The default counts units where one line holds
`LINE_UNITS`: a wide (CJK) character costs `WIDE_UNITS` (18 per line) and any other character
`NARROW_UNITS` (42 per line). Composition passes a measure of the rendered width in the subtitle
font instead (see fonts.py), with the line width in pixels.

Line breaks follow the usual rules for Chinese and English: never before closing punctuation or a
closing quote (no orphan punctuation at a line start), never after an opening quote, preferably at
spaces, then after punctuation, then between CJK characters, and inside a word only as a last resort.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

WIDE_UNITS = 7
NARROW_UNITS = 3
LINE_UNITS = 126
MAX_LINES = 2

Measure = Callable[[str], float]

_SENTENCE_END = frozenset("。！？!?；;….")
_CLAUSE_END = frozenset("，,、：:")
_ASCII_NEEDS_SPACE = frozenset(".!?;,:")  # these end a piece only before a space or the end
_CLOSERS = frozenset("\"'”’」』）)]】》〉〕}")
_OPENERS = frozenset("“‘「『（([【《〈〔{")
#: Characters that must not begin a line (kinsoku): closing and ending punctuation, iteration marks.
NO_LINE_START = _SENTENCE_END | _CLAUSE_END | _CLOSERS | frozenset("‥・ー々〜~%‰℃°")
_SPACE = re.compile(r"\s+")
_ABBREVIATION = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|Mt|No)|\b[A-Z])$")
_INFEASIBLE = 10_000_000

Span = tuple[int, int]


def normalize(text: str) -> str:
    """Collapse runs of whitespace into single spaces and trim the ends."""
    return _SPACE.sub(" ", text).strip()


def is_wide(char: str) -> bool:
    """True for characters drawn double-width (CJK ideographs, kana, fullwidth punctuation)."""
    return unicodedata.east_asian_width(char) in ("W", "F")


def width(text: str) -> float:
    """Display width of `text` in line units (the default Measure)."""
    return sum(WIDE_UNITS if is_wide(c) else NARROW_UNITS for c in text)


def split_cues(text: str, *, line_width: float = LINE_UNITS, measure: Measure = width) -> list[str]:
    """Split narration into chunks that wrap into at most MAX_LINES lines of `line_width`:
    by sentence, then clause, then word.

    The chunks are slices of the whitespace-normalized text: joined, they give it back in order.
    """
    text = normalize(text)
    max_width = line_width * MAX_LINES
    spans: list[Span] = []
    for start, end in _pieces(text, 0, len(text), _SENTENCE_END):
        if measure(text[start:end].strip()) <= max_width:
            spans.append((start, end))
        else:
            spans.extend(_pack(text, _pieces(text, start, end, _CLAUSE_END), max_width, measure))
    chunks: list[str] = []
    for start, end in spans:
        chunks.extend(_fit_lines(text[start:end].strip(), line_width, measure))
    return chunks


def wrap_lines(text: str, *, line_width: float = LINE_UNITS, measure: Measure = width) -> list[str]:
    """Wrap a chunk into as few lines of at most `line_width` as fit, balanced in width.

    Breaks at spaces when it can, else after punctuation or between CJK characters; never puts
    closing punctuation at the start of a line.
    """
    text = normalize(text)
    lines: list[str] = []
    while measure(text) > line_width:
        total = measure(text)
        lines_left = max(2, -int(-total // line_width))
        cut = _break(text, total / lines_left, line_width, (lines_left - 1) * line_width, measure)
        lines.append(text[:cut].strip())
        text = text[cut:].strip()
    return [*lines, text] if text else lines


def _fit_lines(chunk: str, line_width: float, measure: Measure) -> list[str]:
    """`chunk`, split in two (recursively) until each part wraps cleanly into at most MAX_LINES lines."""
    if clean_lines(wrap_lines(chunk, line_width=line_width, measure=measure)) or len(chunk) < 2:
        return [chunk]
    cut = _break(chunk, measure(chunk) / 2, measure(chunk), None, measure)
    head, rest = chunk[:cut].strip(), chunk[cut:].strip()
    return [*_fit_lines(head, line_width, measure), *_fit_lines(rest, line_width, measure)]


def clean_lines(lines: list[str]) -> bool:
    """True for at most MAX_LINES lines, none starting with closing punctuation or ending with an opening one."""
    starts_ok = all(line[0] not in NO_LINE_START for line in lines[1:] if line)
    ends_ok = all(line[-1] not in _OPENERS for line in lines[:-1] if line)
    return len(lines) <= MAX_LINES and starts_ok and ends_ok


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


def _pack(text: str, pieces: list[Span], max_width: float, measure: Measure) -> list[Span]:
    """Greedily join adjacent pieces into spans at most `max_width` wide; split over-long pieces."""
    spans: list[Span] = []
    for piece in pieces:
        for start, end in _hard_split(text, piece, max_width, measure):
            if spans and measure(text[spans[-1][0] : end].strip()) <= max_width:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return spans


def _hard_split(text: str, span: Span, max_width: float, measure: Measure) -> list[Span]:
    start, end = span
    parts: list[Span] = []
    while measure(text[start:end].strip()) > max_width:
        cut = start + _break(text[start:end], max_width, max_width, None, measure)
        parts.append((start, cut))
        start = cut
    return [*parts, (start, end)]


def _break(text: str, target: float, limit: float, rest_limit: float | None, measure: Measure) -> int:
    """Index to cut `text` at: the head at most `limit` wide and close to `target` wide.

    Prefers cuts that leave a tail at most `rest_limit` wide, then spaces, punctuation, CJK gaps;
    a cut that would start a line with closing punctuation is taken only if nothing else fits.
    """
    total = measure(text)
    scale = measure("字") / WIDE_UNITS  # penalties are in units; the measure may be in pixels
    best: tuple[float, int] | None = None
    used = 0.0
    for i, char in enumerate(text[:-1]):
        used += measure(char)
        if used > limit and best is not None:
            break
        score = abs(used - target) + _break_penalty(text, i) * scale
        if rest_limit is not None and total - used > rest_limit:
            score += _INFEASIBLE
        if best is None or score < best[0]:
            best = (score, i + 1)
    return best[1] if best else 1


def _break_penalty(text: str, i: int) -> float:
    """Cost of a line break between text[i] and text[i + 1], in line units."""
    left, right = text[i], text[i + 1]
    if right == " ":
        right = text[i + 2] if i + 2 < len(text) else ""
    if right in NO_LINE_START or left in _OPENERS:
        return _INFEASIBLE / 10
    if left.isspace() or text[i + 1].isspace():
        return 0
    if left in _SENTENCE_END or left in _CLAUSE_END or left in _CLOSERS:
        return 10
    if is_wide(left) or is_wide(right):
        return 25
    return 1000
