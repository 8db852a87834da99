"""The cast of a story: who is in it, who leads, where a name is mentioned, and each character's fixed look."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.services.storyboard.language.text import digest, localized, speech_length
from app.services.storyboard.language.vocab import PREMISE_MAX_UNITS
from app.services.storyboard.rules.lexicon import (
    ACCESSORIES,
    ANIMAL,
    CLOTHES,
    COLOURS,
    CREATURE_FEATURES,
    ELDER,
    ELDER_HAIR,
    EN_KIND,
    EN_LEAD_STOP,
    EN_STOP,
    HAIR,
    PERSON,
    PERSON_FEATURES,
    TEXTURES,
    ZH_ANIMAL_CHARS,
    ZH_KIND,
)


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MAX_CAST = 4
_ZH_LEXICON_RE = re.compile(_alternation(ZH_KIND))
_EN_LEXICON_RE = re.compile(rf"\b({_alternation(EN_KIND)})\b", re.I)
_ZH_NAMED_RE = re.compile(
    rf"(?:名叫|叫做|名字叫)([\u4e00-\u9fff]{{2,3}}?)(?:的({_alternation(ZH_KIND)})|(?=[的，,。！？、\s]|$))"
)
_EN_NAMED_RE = re.compile(
    rf"\b(?:a|an|the)\s+(?:[a-z]+\s+)?({_alternation(EN_KIND)})\s+(?:named|called)\s+([A-Z][a-z]+)", re.I
)
_EN_PROPER_RE = re.compile(
    r"\b(?:(Mr|Mrs|Ms|Dr|Miss|Captain|Professor|Uncle|Aunt|King|Queen|Prince|Princess|Sir|Lady)\.?\s+)?"
    r"([A-Z][a-z]+)\b"
)
_ZH_LEAD_PREFIX = re.compile(r"\s*(?:从前|很久以前|有一天)?[，,]?\s*有?(?:一[只个位条头匹群座棵])?")
_ZH_LEAD_STOP = re.compile(r"[找去在要想和与把被是说遇发寻，。！？,.!?；;\s]")


@dataclass
class CastMember:
    """A character found in a story, with how often and where it is first mentioned."""

    name: str
    kind: str
    first: int
    count: int = 0
    species: str = ""
    aliases: set[str] = field(default_factory=set)


# --------------------------------------------------------------------------- finding the cast


def extract_cast(text: str, language: str) -> list[CastMember]:
    """Find the characters of a story: protagonist first (most mentioned, then earliest), then by appearance.

    In a full script a secondary character must be mentioned at least twice ("howled like a wolf").
    Returns [] when the text names nobody the tables know.
    """
    found = _zh_members(text) if language == "zh" else _en_members(text)
    members = _merge(found, language)
    if not members:
        return []
    members.sort(key=lambda m: (-m.count, m.first))
    lead, others = members[0], sorted(members[1:], key=lambda m: m.first)
    if speech_length(text) > PREMISE_MAX_UNITS:
        others = [m for m in others if m.count > 1]
    return [lead, *others][:_MAX_CAST]


def _add(found: dict[str, CastMember], name: str, kind: str, pos: int, species: str = "") -> None:
    """Count a mention; a name seen before keeps its kind."""
    member = found.setdefault(name, CastMember(name, kind, pos, species=species))
    member.count += 1
    member.first = min(member.first, pos)
    member.species = member.species or species


def _zh_members(text: str) -> dict[str, CastMember]:
    found: dict[str, CastMember] = {}
    species_alias: dict[str, str] = {}
    for m in _ZH_NAMED_RE.finditer(text):
        species = m.group(2) or ""
        _add(found, m.group(1), ZH_KIND.get(species, PERSON), m.start(1), species)
        if species:
            species_alias[species] = m.group(1)
    for name in list(found):
        for extra in re.finditer(re.escape(name), text):
            if extra.start() != found[name].first:
                _add(found, name, found[name].kind, extra.start())
    for m in _ZH_LEXICON_RE.finditer(text):
        _add(found, species_alias.get(m.group(0), m.group(0)), ZH_KIND[m.group(0)], m.start())
    return found


def _en_members(text: str) -> dict[str, CastMember]:
    found: dict[str, CastMember] = {}
    species_alias: dict[str, str] = {}
    for m in _EN_NAMED_RE.finditer(text):
        species = m.group(1).lower()
        species_alias[species] = m.group(2)
        found[m.group(2)] = CastMember(m.group(2), EN_KIND[species], m.start(), species=species)
    for m in _EN_LEXICON_RE.finditer(text):
        noun = m.group(1).lower()
        _add(found, species_alias.get(noun, f"the {noun}"), EN_KIND[noun], m.start())
    for m in _EN_PROPER_RE.finditer(text):
        _add_proper(found, text, m)
    return {k: v for k, v in found.items() if v.count > 0}


def _add_proper(found: dict[str, CastMember], text: str, m: re.Match[str]) -> None:
    """Count a capitalised word as a name unless it is a stop word or only ever opens sentences."""
    word = m.group(2)
    if word.lower() in EN_STOP or word.lower() in EN_KIND:
        return
    name = f"{m.group(1)}. {word}" if m.group(1) in ("Mr", "Mrs", "Ms", "Dr") else " ".join(
        filter(None, (m.group(1), word)))
    before = text[: m.start()].rstrip()
    opens_sentence = not before or before[-1] in ".!?\"“”:\n"
    if name not in found and opens_sentence and len(re.findall(rf"\b{word}\b", text)) < 2:
        return
    _add(found, name, PERSON, m.start())


def _merge(found: dict[str, CastMember], lang: str) -> list[CastMember]:
    """Fold a name into a longer one that contains it (狐狸 → 小狐狸, Smith → Mr. Smith)."""
    members = sorted(found.values(), key=lambda m: -len(m.name))
    kept: list[CastMember] = []
    for member in members:
        host = next((k for k in kept if mentions({member.name}, k.name, lang)), None)
        if host:
            host.count += member.count
            host.first = min(host.first, member.first)
            host.aliases |= {member.name, *member.aliases}
        else:
            kept.append(member)
    return kept


# --------------------------------------------------------------------------- a premise's lead


def with_premise_lead(premise: str, cast: list[CastMember], lang: str) -> list[CastMember]:
    """Make the premise's leading noun phrase the protagonist ("An old clockmaker builds a bird")."""
    lead = _leading_phrase(premise, lang)
    if lead is None:
        return cast
    inside = [m for m in cast if first_mention(m, premise, lang) < lead[2]]
    if inside:
        return [inside[0], *(m for m in cast if m is not inside[0])]
    return [CastMember(lead[0], lead[1], 0, 1), *cast][:_MAX_CAST]


def _leading_phrase(text: str, lang: str) -> tuple[str, str, int] | None:
    """The premise's leading noun phrase as (name, kind, end offset): 会飞的猪, Tom, the old clockmaker."""
    if lang == "zh":
        begin = _ZH_LEAD_PREFIX.match(text).end()
        head = _ZH_LEAD_STOP.split(text[begin:], maxsplit=1)[0]
        head = re.sub(r"(的)?(故事|童话|冒险|传说)$", "", head)
        if not 2 <= len(head) <= 6:
            return None
        kind = ANIMAL if any(ch in head for ch in ZH_ANIMAL_CHARS) else PERSON
        return head, kind, begin + len(head)
    words = list(re.finditer(r"[A-Za-z']+", text))
    article = bool(words) and words[0].group().lower() in ("a", "an", "the")
    head: list[re.Match[str]] = []
    for word in words[int(article):int(article) + 3]:
        w = word.group()
        if w.lower() in EN_LEAD_STOP or (head and re.search(r"(s|ed)$", w)):
            break
        head.append(word)
    if not head:
        return None
    phrase = " ".join(w.group() for w in head)
    kind = next((EN_KIND[w.group().lower()] for w in head if w.group().lower() in EN_KIND), PERSON)
    name = f"the {phrase.lower()}" if article or not phrase[0].isupper() else phrase
    return name, kind, head[-1].end()


def generic_hero(lang: str) -> CastMember:
    """The protagonist of a story that names nobody."""
    return CastMember(localized(("主人公", "the hero"), lang), PERSON, 0, 1)


# --------------------------------------------------------------------------- names in text


def mentions(names: set[str], text: str, lang: str) -> bool:
    """Whether text names any of `names` (English names as whole words, without "the")."""
    return any(_find_name(name, text, lang) >= 0 for name in names)


def first_mention(member: CastMember, text: str, lang: str) -> int:
    """Where text first names a character by its name or an alias; len(text) when it never does."""
    starts = [_find_name(name, text, lang) for name in (member.name, *member.aliases)]
    return min((s for s in starts if s >= 0), default=len(text))


def _find_name(name: str, text: str, lang: str) -> int:
    if lang == "zh":
        return text.find(name)
    m = re.search(rf"\b{re.escape(name.removeprefix('the '))}\b", text, re.I)
    return m.start() if m else -1


def _name_re(name: str, lang: str) -> re.Pattern[str]:
    """A name as a substring pattern (English without "the", case-insensitive)."""
    if lang == "zh":
        return re.compile(re.escape(name))
    return re.compile(re.escape(name.removeprefix("the ")), re.I)


def without_names(text: str, cast: list[CastMember], lang: str) -> str:
    """Blank out character names, so "lighthouse keeper" is not read as a place."""
    for member in cast:
        for name in sorted({member.name, *member.aliases}, key=len, reverse=True):
            text = _name_re(name, lang).sub(" ", text)
    return text


def text_after(text: str, member: CastMember, lang: str) -> str:
    """The words of a premise that follow the first mention of a character."""
    matches = [_name_re(name, lang).search(text) for name in (member.name, *member.aliases)]
    ends = [(m.start(), m.end()) for m in matches if m]
    return text[min(ends)[1]:].strip() if ends else ""


# --------------------------------------------------------------------------- looks


def character_look(name: str, kind: str, language: str, species: str = "") -> str:
    """A fixed visual description for a character, chosen by a hash of its name from attribute tables."""
    h = digest(name)
    if kind in TEXTURES:
        colour, texture = localized(COLOURS[h % len(COLOURS)], language), localized(TEXTURES[kind], language)
        first = f"{colour}的{texture}" if language == "zh" else f"{colour} {texture}"
        tables = (ACCESSORIES, CREATURE_FEATURES)
    else:
        hair = ELDER_HAIR if kind == ELDER else HAIR
        first = localized(hair[h % len(hair)], language)
        tables = (CLOTHES, PERSON_FEATURES)
    second = localized(tables[0][(h >> 8) % len(tables[0])], language)
    third = localized(tables[1][(h >> 16) % len(tables[1])], language)
    look = localized(("，", ", "), language).join((first, second, third))
    if species:
        look = f"一只{species}，{look}" if language == "zh" else f"a {species}, {look}"
    return look
