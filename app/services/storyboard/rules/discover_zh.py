"""Finding the characters of Chinese text on jieba's words and tags.

Names come from namings (名叫豆豆, 它叫嘎嘎, 大家都叫她周奶奶), appositions (小狗豆豆, 小女孩丽丽,
小狗Max), surname + role (王老师, 张爷爷) and words jieba tags as names that recur (小明). Character
nouns come from the lexicons, with their modifiers (老乌龟, 小花猫, 鸭妈妈) and plurals (一群小鸭子, 孩子们).
"""

from __future__ import annotations

import re

from app.services.storyboard.rules.registry import Noun, Registry
from app.services.storyboard.rules.roles import ZH_PRONOUNS
from app.services.storyboard.rules.segment import Token
from app.services.storyboard.rules.stopwords import is_english_name_word
from app.services.storyboard.rules.zhwords import (
    BREAK,
    CJK_NAME,
    NOT_NAMES,
    creature,
    is_name,
    kin_compound,
    merge_words,
    name_like,
    next_word,
    noun_at,
    surnamed,
    title_noun,
    word_counts,
)

_NAMING = frozenset({"名叫", "叫做", "叫", "名字叫", "取名", "取名叫", "起名叫", "名为"})


def read_chinese(toks: list[Token], registry: Registry) -> None:
    """Add the characters of Chinese text (its jieba words; Latin names inside it too) to `registry`."""
    toks = merge_words(toks)
    counts = word_counts(toks)
    nouns: dict[int, Noun] = {}
    for i in range(len(toks)):
        noun = noun_at(toks, i)
        if noun is not None:
            nouns[i] = noun
    consumed: set[int] = set()
    for i, tok in enumerate(toks):
        if i in consumed:
            continue
        if tok.word in _NAMING:
            consumed |= _naming(toks, i, nouns, registry)
        elif i in nouns:
            consumed |= _apposition(toks, i, nouns[i], registry)
        elif kin_compound(tok.word) is not None:
            registry.name(tok.word, tok.start, noun=title_noun(tok))
        elif is_name(toks, i, counts):
            registry.name(tok.word, tok.start, noun=title_noun(tok))
    for noun in nouns.values():
        registry.noun(noun)
    _copulas(toks, nouns, registry)


def _apposition(toks: list[Token], i: int, noun: Noun, registry: Registry) -> set[int]:
    """小狗豆豆, 小女孩丽丽, 小狗Max, 宇航员林阿姨: a noun followed by a name names it."""
    j = next_word(toks, i)
    if noun.plural or j >= len(toks):
        return set()
    tok = toks[j]
    if surnamed(tok.word) or kin_compound(tok.word):
        member = registry.name(tok.word, tok.start, noun=title_noun(tok))
        registry.describe(member, noun)
        return {j}
    if name_like(toks, j, apposed=True):
        registry.name(tok.word, tok.start, noun=noun)
        return {j}
    return set()


def _naming(toks: list[Token], i: int, nouns: dict[int, Noun], registry: Registry) -> set[int]:
    """名叫X / 它叫X / 大家都叫她X: X is a name; what it names is the noun right after (名叫Bo的小熊)
    or the nearest noun before (一只小鸭子…它叫嘎嘎)."""
    j = next_word(toks, i)
    if j < len(toks) and toks[j].word in ZH_PRONOUNS:
        j = next_word(toks, j)
    if j >= len(toks):
        return set()
    name = toks[j]
    if len(name.word) == 1 and j + 1 < len(toks) and re.match(r"[\u4e00-\u9fff]$", toks[j + 1].word):
        name = Token(name.word + toks[j + 1].word, "nr", name.start)  # 火/火 → 火火
        j += 1
    if not (CJK_NAME.match(name.word) or is_english_name_word(name.word)):
        return set()
    if creature(name.word) or name.word in ("名字",) or name.word in ZH_PRONOUNS or name.word in NOT_NAMES:
        return set()
    after = next_word(toks, j)
    if after < len(toks) and toks[after].word not in ("的", "是") and not BREAK.match(toks[after].word):
        return set()
    noun, adjacent = _described(toks, i, after, nouns)
    member = registry.name(name.word, name.start, noun=title_noun(name))
    if noun is not None:
        registry.describe(member, noun, cover=adjacent)
    return {j}


def _described(toks: list[Token], i: int, after: int, nouns: dict[int, Noun]) -> tuple[Noun | None, bool]:
    """The noun a naming names, and whether it is part of the naming (名叫Bo的小熊) or said before it."""
    if after < len(toks) and toks[after].word == "的":
        k = after + 1
        while k < len(toks) and k not in nouns and not BREAK.match(toks[k].word) and k < after + 4:
            k += 1
        if k in nouns:
            return nouns[k], True
    before = [k for k in nouns if k < i and not nouns[k].plural]
    if before and _sentences_between(toks, before[-1], i) <= 1:
        adjacent = all(BREAK.match(t.word) is None for t in toks[before[-1] + 1:i]) and i - before[-1] <= 3
        return nouns[before[-1]], adjacent
    return None, False


def _sentences_between(toks: list[Token], a: int, b: int) -> int:
    return sum(1 for t in toks[a:b] if t.word in ("。", "！", "？", "!", "?"))


def _copulas(toks: list[Token], nouns: dict[int, Noun], registry: Registry) -> None:
    """X是一个…NOUN: the named X is what the noun says (Tom是一个 shy 的小男孩); a noun X is the same
    character as the noun (店主是一位胖胖的老奶奶)."""
    for i, tok in enumerate(toks):
        member = registry.members.get(tok.word)
        if (member is None or not member.named) and i not in nouns:
            continue
        j = next_word(toks, i)
        if j >= len(toks) or toks[j].word != "是":
            continue
        k = j + 1
        while k < len(toks) and k not in nouns and not BREAK.match(toks[k].word.strip() or "x") and k < j + 6:
            k += 1
        if k not in nouns or nouns[k].plural:
            continue
        if member is not None and member.named:
            registry.describe(member, nouns[k])
        elif not nouns[i].plural:
            registry.same(nouns[i], nouns[k])

