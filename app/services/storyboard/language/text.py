"""Pure text helpers for the embedded planner: language, sentences, clauses, speech length, stable choice.

Nothing here loses text: `split_sentences` and `split_clauses` return pieces whose concatenation,
whitespace aside, is exactly the input.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RE = re.compile(f"[{_CJK}]")
#: A spoken token: one CJK character, or one run of Latin letters/digits (with inner ' . , -).
_TOKEN_RE = re.compile(f"[{_CJK}]|[A-Za-z0-9]+(?:['’.,-][A-Za-z0-9]+)*")

_TERMINATORS = "。！？；!?;…"
_CLOSERS = "”’」』）)】》\"'»"
_CLAUSE_MARKS = "，、,;；：:—"
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt vs etc e.g i.e a.m p.m no fig approx dept est inc ltd co capt gen"
    " lt col sgt rev hon u.s u.k".split()
)

#: Speech-length units per Latin word: English runs at ~165 words/min (~2.75 words/s) and Mandarin
#: narration at ~4 characters/s, so one word takes about as long as 1.5 CJK characters.
WORD_UNITS = 1.5


def detect_language(text: str) -> str:
    """Return 'zh' when CJK characters carry at least half of the speech, else 'en'.

    Shares are measured in speech units (see `speech_length`), so "Tom 和 Jerry 是好朋友" is 'zh'
    and an English story naming one Chinese place is 'en'. Text with no letters is 'zh'.
    """
    total = speech_length(text)
    if total == 0:
        return "zh"
    return "zh" if len(CJK_RE.findall(text)) / total >= 0.5 else "en"


def localized(pair: Sequence[T], language: str) -> T:
    """The Chinese half of a (zh, en) pair for 'zh', else the English half."""
    return pair[0] if language == "zh" else pair[1]


def digest(text: str) -> int:
    """A stable integer hash of text (Python's hash() is salted per process)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:16], 16)


def pick(options: Sequence[T], key: str) -> T:
    """One of `options`, chosen by a stable hash of `key`."""
    return options[digest(key) % len(options)]


def speech_length(text: str) -> float:
    """Return how long `text` takes to say, in CJK-character units (about 1/4 s each).

    Each CJK character counts 1; each Latin word or number counts `WORD_UNITS` (1.5);
    punctuation and whitespace count 0.
    """
    total = 0.0
    for token in _TOKEN_RE.findall(text):
        total += 1.0 if CJK_RE.fullmatch(token) else WORD_UNITS
    return total


def split_paragraphs(text: str) -> list[str]:
    """Split on blank lines; return non-empty paragraphs, stripped."""
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def split_sentences(text: str) -> list[str]:
    """Split a text into sentences in order, for Chinese and English punctuation.

    A sentence ends at 。！？；!?; or an ellipsis (… / ...), together with any run of further
    terminators and closing quotes or brackets (”」』）"'). An English period ends a sentence only
    when followed by whitespace (or the end) and the word before it is not an abbreviation
    (Mr., Dr., e.g.) or an initial, and the next word is not lowercase; decimals like 3.5 never
    split. A line break ends a sentence unless the line ends mid-clause (a comma, or a letter
    followed by a lowercase line).
    """
    sentences: list[str] = []
    for line in _logical_lines(text):
        sentences.extend(_split_line(line))
    return sentences


def _logical_lines(text: str) -> list[str]:
    """Join hard-wrapped lines that continue a sentence; every other line break is a boundary."""
    merged: list[str] = []
    previous_blank = True
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            previous_blank = True
            continue
        if not previous_blank and merged and _continues(merged[-1], line):
            sep = "" if CJK_RE.match(line[0]) else " "
            merged[-1] = merged[-1] + sep + line
        else:
            merged.append(line)
        previous_blank = False
    return merged


def _continues(line: str, following: str) -> bool:
    """Whether `following` carries on the sentence that `line` breaks off mid-clause."""
    if line[-1] in "，、,：:—-":
        return True
    return bool(re.search(r"[A-Za-z0-9]$", line)) and following[0].islower()


def _split_line(line: str) -> list[str]:
    out: list[str] = []
    start = 0
    i = 0
    while i < len(line):
        ch = line[i]
        if ch in _TERMINATORS or ch == ".":
            end = _consume_marks(line, i)
            if _is_boundary(line, i, end):
                out.append(line[start:end].strip())
                start = end
            i = end
        else:
            i += 1
    if line[start:].strip():
        out.append(line[start:].strip())
    return [s for s in out if s]


def _consume_marks(line: str, i: int) -> int:
    """Index just past the terminator run at `i` and the closing quotes that follow it."""
    j = i
    while j < len(line) and (line[j] in _TERMINATORS or line[j] == "."):
        j += 1
    while j < len(line) and (line[j] in _CLOSERS or line[j] in _TERMINATORS):
        j += 1
    return j


def _is_boundary(line: str, i: int, end: int) -> bool:
    """Decide whether the terminator run line[i:end] ends a sentence."""
    if end >= len(line):
        return True
    nxt = line[end]
    if nxt in _CLAUSE_MARKS:
        return False
    run = line[i:end]
    ellipsis = "…" in run or run.startswith("...")
    cjk_context = bool(CJK_RE.match(line[i - 1])) if i else False
    if run[0] == "." and not ellipsis:
        if cjk_context:
            return not nxt.isdigit()
        return nxt.isspace() and not _is_abbreviation(line, i) and not _next_is_lower(line, end)
    if not cjk_context and not CJK_RE.match(nxt) and run[0] not in ";；":
        return (nxt.isspace() or not ellipsis) and not _next_is_lower(line, end)
    return True


def _is_abbreviation(line: str, i: int) -> bool:
    """Whether the period at `i` closes an abbreviation (Mr.), an initial (J.) or e.g./i.e."""
    word = re.search(r"([A-Za-z][A-Za-z.]*)$", line[:i])
    if not word:
        return False
    token = word.group(1)
    if len(token) == 1 and token.isupper():
        return True
    return token.lower().rstrip(".") in _ABBREVIATIONS


def _next_is_lower(line: str, end: int) -> bool:
    rest = line[end:].lstrip()
    return bool(rest) and rest[0].islower()


def split_clauses(sentence: str, max_length: float) -> list[str]:
    """Split an over-long sentence into pieces of at most `max_length` speech units.

    Cuts after clause marks (，、,;；：:—), then re-joins neighbours into the fewest balanced
    groups of about `max_length`. A clause over 1.5 × `max_length` is cut at word (English) or
    character (Chinese) boundaries.
    Concatenating the result reproduces `sentence` (whitespace aside).
    """
    if speech_length(sentence) <= max_length:
        return [sentence]
    clauses = [c for c in re.split(f"(?<=[{_CLAUSE_MARKS}])", sentence) if c.strip()]
    pieces: list[str] = []
    for clause in clauses:
        pieces.extend(_hard_split(clause, max_length))
    return _pack(pieces, max_length)


def _hard_split(text: str, max_length: float) -> list[str]:
    """Cut a clause of over 1.5 × `max_length` units at word or character boundaries."""
    if speech_length(text) <= max_length * 1.5:
        return [text]
    tokens = re.findall(r"\S+\s*", text) if detect_language(text) == "en" else list(text)
    return _pack(tokens, max_length)


def _pack(pieces: list[str], max_length: float) -> list[str]:
    """Join consecutive pieces into the fewest balanced groups of about `max_length` units."""
    lengths = [speech_length(p) for p in pieces]
    groups = max(1, math.ceil(sum(lengths) / max_length))
    cuts = partition(lengths, groups)
    return [join_raw(pieces[a:b]) for a, b in zip([0, *cuts], [*cuts, len(pieces)], strict=True)]


def partition(lengths: list[float], groups: int, bonus: list[float] | None = None) -> list[int]:
    """Return the cut indices splitting `lengths` into `groups` consecutive, non-empty runs.

    Each cut lands on the boundary whose running total is nearest to its even share of the
    total; `bonus[k]` (in length units) makes a cut before item k more attractive (e.g. a
    paragraph start). Groups are capped at len(lengths).
    """
    groups = max(1, min(groups, len(lengths)))
    total = sum(lengths)
    running = [0.0]
    for value in lengths:
        running.append(running[-1] + value)
    cuts: list[int] = []
    previous = 0
    for g in range(1, groups):
        target = total * g / groups
        candidates = range(previous + 1, len(lengths) - (groups - g) + 1)
        best = min(candidates, key=lambda k: abs(running[k] - target) - (bonus[k] if bonus else 0.0))
        cuts.append(best)
        previous = best
    return cuts


def join_raw(pieces: list[str]) -> str:
    """Concatenate pieces that already carry their own spacing; strip the ends."""
    return "".join(pieces).strip()


def join_text(pieces: list[str], language: str) -> str:
    """Join sentences for narration: no separator for Chinese, one space for English."""
    sep = "" if language == "zh" else " "
    return sep.join(p.strip() for p in pieces if p.strip())


def strip_space(text: str) -> str:
    """Remove all whitespace (used to compare texts regardless of spacing)."""
    return re.sub(r"\s+", "", text)
