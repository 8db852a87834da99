"""Where sentences, clauses and quotations of a text begin and end, and whether a word in a clause
comes after the clause's verb or a preposition (it is then acted on, not acting)."""

from __future__ import annotations

import bisect
import re

from app.services.storyboard.rules.segment import Token
from app.services.storyboard.rules.stopwords import PREPOSITIONS, VERBS

_SENTENCE_END = re.compile(
    r"(?:[。！？!?…]+[”」\"']?|(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bDr)(?<!\bSt)\.(?=\s|$)|\n)\s*")
_CLAUSE_END = re.compile(r"[，,；;：:、—]|\s(?:while|when|until|because|as if)\s")
_QUOTE = re.compile(r"“[^”]*”|「[^」]*」|\"[^\"\n]*\"")
#: Verbs that introduce what follows as the one the sentence is about (从前有一只小狗, there lived a bear).
_ZH_EXIST = frozenset({"有", "住着", "住", "来了", "出现", "出现了", "只有", "只剩下", "剩下"})
_EN_EXIST = frozenset({"lived", "came", "appeared", "stood"})
_WORD = re.compile(r"[A-Za-z]+(?:['’][a-z]+)?")


class Layout:
    """Sentence and clause boundaries and quoted stretches of one text."""

    def __init__(self, text: str, zh_tokens: list[Token]) -> None:
        self.text = text
        self._sentences = [m.end() for m in _SENTENCE_END.finditer(text)]
        self._clauses = sorted({*self._sentences, *(m.end() for m in _CLAUSE_END.finditer(text))})
        self._quotes = [(m.start(), m.end()) for m in _QUOTE.finditer(text)]
        self._paragraphs = [m.end() for m in re.finditer(r"\n\s*\n", text)]
        self._tokens = zh_tokens
        self._token_starts = [t.start for t in zh_tokens]

    def sentence(self, pos: int) -> int:
        """The index of the sentence holding `pos`."""
        return bisect.bisect_right(self._sentences, pos)

    def clause_start(self, pos: int) -> int:
        """Where the clause holding `pos` begins."""
        i = bisect.bisect_right(self._clauses, pos)
        return self._clauses[i - 1] if i else 0

    def paragraph(self, pos: int) -> int:
        """The index of the paragraph holding `pos` (paragraphs part at blank lines)."""
        return bisect.bisect_right(self._paragraphs, pos)

    def quoted(self, pos: int) -> bool:
        return any(a < pos < b for a, b in self._quotes)

    def acted_on(self, clause_start: int, pos: int) -> bool:
        """Whether a verb or preposition stands between the clause start and `pos` (not one that
        introduces the character: 住着一位小王子, there lived a bear)."""
        if self._tokens and re.match(r"[\u4e00-\u9fff]", self.text[pos:pos + 1]):
            return self._zh_acted_on(clause_start, pos)
        words = [w.lower() for w in _WORD.findall(self.text[clause_start:pos]) if w not in ("named", "called")]
        existential = any(w in _EN_EXIST for w in words) or re.search(r"\bthere\s+(?:was|were)\b", " ".join(words))
        if existential and not any(w in PREPOSITIONS for w in words[-2:]):
            return False
        return any(w in PREPOSITIONS or w in VERBS or (len(w) > 4 and w.endswith("ed")) for w in words)

    def _zh_acted_on(self, clause_start: int, pos: int) -> bool:
        first = bisect.bisect_left(self._token_starts, clause_start)
        last = bisect.bisect_left(self._token_starts, pos)
        before = self._tokens[first:last]
        if any(t.word in _ZH_EXIST for t in before):
            return False
        return any(t.tag.startswith("v") or t.tag == "p" for t in before)
