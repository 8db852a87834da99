"""Places a script names, in order: the place noun with the words the script puts before it
("开满野花的草地", "the old train station"), and whether the text is leaving it ("跑出家门", "out of the cave").

Chinese places are lexicon nouns, jieba's place words (tag s) and nouns before a locative (…里/上/边)
after a verb of place (在, 来到, 走进…); English places are lexicon nouns (harbour, bakery, Gull Rock).
Character names, quoted speech and reported speech ("球球说，它的苹果滚进了小河里") are not searched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.services.storyboard.language.text import CJK_RE, localized
from app.services.storyboard.rules.daytime import find_cues
from app.services.storyboard.rules.places import EN_PLACES, ZH_NOT_PLACES, ZH_PLACE_PARTS, ZH_PLACES
from app.services.storyboard.rules.segment import Token

_ZH_LOCATIVES = ("里", "上", "边", "下", "中", "旁", "外", "前", "口", "内", "底", "顶", "间")
_ZH_PLACE_VERB = re.compile(
    r"(?:在|到|进|过|回|上|着|向|有|出|离开|去)了?(?:一[片座个家条间口棵])?[^，。！？；：、]{0,8}$")
_ZH_PASSING = frozenset("""穿过 游过 走过 飞过 路过 经过 来到 走进 跑进 飞进 游进 回到 到达 爬上 登上 游到 飞到
    走到 跑到""".split())
_ZH_TOWARD = re.compile(r"(?:朝着?|向着|往)[^，。！？]{0,6}$")
_ZH_HOME = {"回家": "家", "到家": "家", "进家门": "家", "回到家": "家"}
_ZH_LEAVING = re.compile(r"(?:出|离开|走出|跑出|飞出|爬出|钻出|跳出|逃出|告别)了?$")
_EN_NOUNS = sorted(EN_PLACES, key=lambda w: (-len(w.split()), -len(w)))
_EN_AWAY = re.compile(r"\b(?:out of|from|left|leaving|leaves|away from|towards?)\s+(?:\S+\s+)?$", re.I)
_EN_LANDMARK = re.compile(r"^[\w'’-]+s?\s+(?:outside|near|behind|beside|across from|above|below|beyond|next to|"
                          r"by|on|at|in|of)\s+(?:the|a|an)?\s*(?:[\w'’-]+\s+){0,2}$", re.I)
_EN_NOUN_RE = re.compile(r"\b(" + "|".join(re.escape(n) for n in _EN_NOUNS) + r")(s?)\b", re.I)
_EN_SKIP_MODIFIERS = frozenset("""the a an his her their its our my of in on at to into by with and or from this that
    these those every each one some all past over under near across along through around toward towards behind
    beside inside outside onto out above below up down""".split())
#: Words before a place (with its determiner) that put someone there: prepositions and verbs of place.
_EN_WHERE = frozenset("""in at on into onto to toward towards by near under behind across along through past over
    around inside outside beside above below up down from out of within kept keep keeps reached entered
    swept sweeps opened cleaned crossed explored climbed visited left leaving leaves drove driven drives rode
    boarded aboard had has have owned owns""".split())
_REPORTED = re.compile(
    r"(?:说|告诉[^，。！？]{0,6}|想|心想|觉得|知道|听说)[，：:,]|\b(?:said|told \w+|thought|knew) that\b")
_QUOTE = re.compile(r"“[^”]*”|「[^」]*」|\"[^\"\n]*\"")
_SENTENCE_END = re.compile(r"[。！？!?]|\.(?=\s|$)|\n")


@dataclass(frozen=True)
class Place:
    """A setting: its noun, the phrase a picture shows and the locative word (zh suffix 里, en preposition)."""

    noun: str
    phrase: str
    locative_word: str
    lang: str

    def text(self) -> str:
        """What the place is: 开满野花的草地 / the old train station."""
        return self.phrase

    def locative(self) -> str:
        """Where, as a phrase: 草地上 / at the old train station."""
        if self.lang == "zh":
            return self.phrase + self.locative_word
        return f"{self.locative_word} {self.phrase}"


@dataclass(frozen=True)
class PlaceMention:
    """A place named at an offset; `leaving` when the text moves out of it."""

    start: int
    place: Place
    leaving: bool = False


def default_place(noun_pair: tuple[str, str], lang: str) -> Place:
    """A place for a story that names none, described from the table."""
    noun = localized(noun_pair, lang)
    return _described(noun, "", lang)


def find_places(
    text: str, lang: str, zh_tokens: Sequence[Token], blanks: Sequence[tuple[int, int]]
) -> list[PlaceMention]:
    """Every place named in text, in order, outside character names, quotes and reported speech."""
    masked = _mask(text, blanks)
    found = _zh_places(masked, zh_tokens, lang) if zh_tokens else []
    found += _en_places(masked, lang)
    found.sort(key=lambda m: m.start)
    kept: list[PlaceMention] = []
    for mention in found:
        if kept and mention.start < kept[-1].start + len(kept[-1].place.noun):
            continue
        if kept and mention.place.noun in ZH_PLACE_PARTS and masked[kept[-1].start + len(kept[-1].place.noun):
                                                                      mention.start].strip() == "":
            last = kept.pop()  # 面包店门口, library 门口: one place
            mention = PlaceMention(last.start, Place(last.place.noun, last.place.phrase + mention.place.noun,
                                                     "", last.place.lang), mention.leaving)
        kept.append(mention)
    return kept


def _mask(text: str, blanks: Sequence[tuple[int, int]]) -> str:
    chars = list(text)
    spans = [*blanks, *((m.start(), m.end()) for m in _QUOTE.finditer(text))]
    for m in _REPORTED.finditer(text):
        end = _SENTENCE_END.search(text, m.end())
        spans.append((m.end(), end.start() if end else len(text)))
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


# --------------------------------------------------------------------------- Chinese


def _zh_places(text: str, toks: Sequence[Token], lang: str) -> list[PlaceMention]:
    found = []
    for i, tok in enumerate(toks):
        if text[tok.start:tok.end] != tok.word:
            continue  # masked
        if tok.word in _ZH_HOME and not re.search(r"(?:想|要|该|准备|打算|着急)$", text[:tok.start]):
            found.append(PlaceMention(tok.start, _described(_ZH_HOME[tok.word], "", lang)))
            continue
        noun = _zh_noun(toks, i)
        if noun is None or not _is_setting(toks, i, text):
            continue
        start = tok.start + tok.word.find(noun)
        modifier = _zh_modifier(toks, i, text) if tok.word.endswith(noun) or tok.word[:-1] == noun else ""
        lead = text[max(0, start - len(modifier) - 4):start - len(modifier)]
        toward = bool(_ZH_TOWARD.search(text[max(0, start - 10):start])) or text.startswith("的方向", tok.end)
        found.append(PlaceMention(start, _described(noun, modifier, lang, tok.word),
                                  bool(_ZH_LEAVING.search(lead)) or toward))
    return found


def _is_setting(toks: Sequence[Token], i: int, text: str) -> bool:
    """Whether place word i says where someone is: after a verb of place (在/来到/穿过…), before or with a
    locative (里/上/边), or a place word proper (海边) — not a place that is itself the subject
    ("天空响起了雷声", "小河唱起了歌")."""
    tok = toks[i]
    following = toks[i + 1].word if i + 1 < len(toks) else ""
    if tok.tag == "s" or following in _ZH_LOCATIVES or tok.word[-1] in _ZH_LOCATIVES and len(tok.word) > 1:
        return True
    clause = re.split(r"[，。！？；：,.!?;:\n]", text[:tok.start])[-1]
    english = re.findall(r"[A-Za-z]+", clause)
    return bool(_ZH_PLACE_VERB.search(clause)) or bool(english) and english[-1].lower() in _EN_WHERE | {"the", "a"}


def _zh_noun(toks: Sequence[Token], i: int) -> str | None:
    """The place noun of word i: a lexicon place (also inside 小渔村), a place word, or a noun before 里/上…"""
    word = toks[i].word
    if word in ZH_NOT_PLACES or not CJK_RE.match(word):
        return None
    if word in ZH_PLACES:
        return word
    if word[1:] in ZH_PLACES and len(word) >= 3 and word[0] in "小古":
        return word[1:]
    if len(word) >= 2 and word[-1] in _ZH_LOCATIVES and word[:-1] in ZH_PLACES:
        return word[:-1]
    if toks[i].tag == "s" and len(word) >= 2:
        return word
    following = toks[i + 1].word if i + 1 < len(toks) else ""
    if toks[i].tag.startswith("n") and following in _ZH_LOCATIVES and len(word) >= 2 and _after_place_verb(toks, i):
        return word
    previous = toks[i - 1].word if i else ""
    split = i >= 2 and previous in ("过", "到", "进", "上") and toks[i - 2].tag.startswith("v")
    ends_clause = i + 1 >= len(toks) or not toks[i + 1].tag.startswith("v")
    if toks[i].tag.startswith("n") and len(word) >= 2 and (previous in _ZH_PASSING or split) and ends_clause:
        return word  # 游过珊瑚礁, 来到沉船 (not 游到[月亮升起])
    if len(word) >= 3 and any(word.endswith(p) and len(p) >= 2 for p in ZH_PLACES):
        return word  # 菜市场, 旧车站: a kind of a place the word tables know
    return None


def _after_place_verb(toks: Sequence[Token], i: int) -> bool:
    before = "".join(t.word for t in toks[max(0, i - 4):i])
    return bool(re.search(r"(?:在|到|进|过|回|上)(?:了|一[片座个家条间])?(?:[^，。！？]{0,6})$", before))


def _zh_modifier(toks: Sequence[Token], i: int, text: str) -> str:
    """The script's words before the place noun, up to 的: 开满野花的 (草地), 废弃的 (工厂), 海边的小 (渔村)."""
    words: list[str] = []
    j = i - 1
    while j >= 0 and len(words) < 4:
        tok = toks[j]
        if text[tok.start:tok.end] != tok.word or tok.tag in ("x", "m", "p", "r", "c", "d", "uz", "ul"):
            break
        if tok.tag.startswith("v") and not words:
            break
        if tok.tag.startswith("v") and (j == 0 or not (toks[j - 1].tag.startswith("v") or toks[j - 1].tag == "p")):
            break
        words.insert(0, tok.word)
        j -= 1
        if tok.tag.startswith("v"):
            break
    phrase = "".join(words)
    return phrase if "的" in phrase else ""


def _described(noun: str, modifier: str, lang: str, surface: str = "") -> Place:
    if modifier and find_cues(modifier):
        modifier = ""  # "清晨的集市": the hour is the shot's, not the place's
    if lang != "zh" and not CJK_RE.search(noun):
        row = EN_PLACES.get(noun.lower())
        phrase = modifier or (f"{row.description} {noun}".strip() if row else noun)
        return Place(noun, f"the {phrase}" if modifier else f"a {phrase}", row.locative if row else "in", "en")
    row = ZH_PLACES.get(noun)
    body = surface if surface.endswith(noun) and len(surface) > len(noun) and not modifier else noun
    phrase = f"{modifier}{body}" if modifier else (f"{row.description}{body}" if row else body)
    suffix = row.locative if row else ("" if noun[-1] in _ZH_LOCATIVES else "里")
    return Place(noun, phrase, suffix, "zh")


# --------------------------------------------------------------------------- English


def _en_places(text: str, lang: str) -> list[PlaceMention]:
    found: list[PlaceMention] = []
    for m in _EN_NOUN_RE.finditer(text):
        modifiers, lead = _en_modifiers(text, m.start())
        clause = re.split(r"[.,;:!?\n]", lead)[-1]
        lead_words = [w.lower() for w in re.findall(r"[A-Za-z]+", clause)]
        cjk_next = bool(re.search(r"[\u4e00-\u9fff]\s*$", lead) or re.match(r"\s*[\u4e00-\u9fff]", text[m.end():]))
        if not (cjk_next or _EN_WHERE.intersection(lead_words[-3:])):
            continue  # not where someone is: "The trees looked taller", "could not see the boats"
        noun = m.group(1).lower()
        phrase = " ".join([*modifiers, m.group(1) + m.group(2)])
        place = _described(noun, phrase if modifiers or m.group(2) else "", "en")
        if modifiers and modifiers[0][:1].isupper():
            place = Place(noun, phrase, place.locative_word, "en")  # a proper name: on Gull Rock
        if lang == "zh":  # an English place inside a Chinese story keeps its word: park, library
            place = Place(noun, m.group(1), "里", "zh")
        leaving = bool(_EN_AWAY.search(lead))
        if found and _EN_LANDMARK.search(text[found[-1].start:m.start()]):
            leaving = True  # "a farm outside the city": the city only says where the farm is
        found.append(PlaceMention(m.start(), place, leaving))
    return found


def _en_modifiers(text: str, start: int) -> tuple[list[str], str]:
    """The words between the determiner (or preposition) and a place noun, and the text before them:
    "in the cold northern ocean" → ([cold, northern], "… in the ")."""
    words = list(re.finditer(r"[A-Za-z'’-]+", text[max(0, start - 60):start]))
    offset = max(0, start - 60)
    modifiers: list[str] = []
    for word in reversed(words):
        if word.group().lower() in _EN_SKIP_MODIFIERS or len(modifiers) == 3:
            return modifiers, text[:offset + word.end()]
        if re.search(r"[.,;:!?]", text[offset + word.end():start]):
            break
        modifiers.insert(0, word.group())
    return [], text[:start]
