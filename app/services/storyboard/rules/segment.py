"""Chinese word segmentation with part-of-speech tags (jieba), loaded lazily, once and quietly.

The planner's own words (animals, roles, places) are added to a private jieba tokenizer, so they come
out whole ("小鸭子", "鸭妈妈") without touching jieba's global dictionary. jieba caches its prefix
dictionary in the system temporary folder, never in the repository.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple, Protocol

_WORD_FREQ = 20000
_lock = threading.Lock()
_tagger: _Tagger | None = None


class Token(NamedTuple):
    """One segmented word: its text, jieba's tag (n, nr, v, p, r, eng, x…) and its offset in the text."""

    word: str
    tag: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.word)


class _Pair(Protocol):
    word: str
    flag: str


class _Tagger(Protocol):
    def cut(self, sentence: str, HMM: bool = True) -> Iterable[_Pair]: ...  # noqa: N803 - jieba's name


def tokens(text: str) -> list[Token]:
    """`text` cut into words with tags and offsets; the words' concatenation is `text`."""
    return list(_cut(text))


def warm_up() -> None:
    """Load the tagger in a background thread, so the first plan does not wait for it."""
    threading.Thread(target=_load, name="jieba-warm-up", daemon=True).start()


def preload() -> None:
    """Load the tagger now, in this process (a planner process does it once when it starts)."""
    _load()


@lru_cache(maxsize=64)
def _cut(text: str) -> tuple[Token, ...]:
    out: list[Token] = []
    at = 0
    for pair in _load().cut(text):
        out.append(Token(pair.word, pair.flag, at))
        at += len(pair.word)
    return tuple(out)


def _load() -> _Tagger:
    """The shared tagger, built on first use (about half a second) with the planner's words added."""
    global _tagger
    with _lock:
        if _tagger is None:
            _tagger = _build()
        return _tagger


def _build() -> _Tagger:
    import jieba  # type: ignore[import-untyped]
    import jieba.posseg  # type: ignore[import-untyped]

    from app.services.storyboard.rules.places import ZH_PLACE_WORDS
    from app.services.storyboard.rules.roles import ZH_GROUPS, ZH_ROLE_WORDS
    from app.services.storyboard.rules.species import ZH_SPECIES_WORDS

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = tempfile.gettempdir()
    for word in sorted({*ZH_SPECIES_WORDS, *ZH_ROLE_WORDS, *ZH_PLACE_WORDS, *ZH_GROUPS}):
        if len(word) > 1:
            tokenizer.add_word(word, _WORD_FREQ, "n")
    tagger: _Tagger = jieba.posseg.POSTokenizer(tokenizer)
    return tagger
