"""Finding the characters of English text by rules.

Names come from namings ("a little bear named Bo", "called Biscuit"), titles (Mr. Okafor, Grandma Wang,
Mother Goose), appositions ("the smallest goose, Wren,"), copulas ("Pip was a small cleaning robot") and
capitalised words that behave like names (recur, or act: "Priya planted"), never from a capitalised word
after a place preposition (on Gull Rock) or one that only opens a sentence once ("Explore the cave").
"""

from __future__ import annotations

import re

from app.services.storyboard.rules.registry import Noun, Registry
from app.services.storyboard.rules.roles import EN_ROLE_PLURALS, EN_ROLES, EN_TITLES, ROLES
from app.services.storyboard.rules.species import EN_MATERIALS, EN_SPECIES, SPECIES
from app.services.storyboard.rules.stopwords import PLACE_PREPS, PREPOSITIONS, VERBS, is_english_name_word

_NAME = r"(?:[A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
_CJK_NAME = r"[\u4e00-\u9fff]{1,4}"
_WORD = re.compile(r"[A-Za-z]+(?:['’][a-z]+)?|[\u4e00-\u9fff]+")
_TITLE_RE = re.compile(
    rf"\b(Mr|Mrs|Ms|Miss|Dr|Captain|Commander|Professor|Grandma|Grandpa|Granny|Nana|Uncle|Aunt|Auntie|King|"
    rf"Queen|Prince|Princess|Sir|Lady|Mother|Father|Old|Little|Young)\.?\s+({_NAME}(?:\s+{_NAME})?|{_CJK_NAME})"
)
_NAMING_RE = re.compile(rf"\b(?:named|called)\s+({_NAME}(?:\s+{_NAME})?|{_CJK_NAME})")
_APPOSITION_RE = re.compile(rf",\s+({_NAME}),")
_COPULA_RE = re.compile(rf"\b({_NAME})\s+(?:was|is)\s+(?:a|an|the)\s+")
_ADJECTIVE_TITLES = {"old": "elder", "little": "child", "young": ""}
_NOUNS = sorted({*EN_SPECIES, *EN_ROLES, *EN_ROLE_PLURALS}, key=lambda w: (-len(w.split()), -len(w)))
_NOUN_RE = re.compile(r"\b(" + "|".join(re.escape(n) for n in _NOUNS) + r")\b", re.I)
_SINGULAR = frozenset({"a", "an", "one"})
_COLLECTIVES = {"swarm": "bee", "flock": "bird", "herd": "cow", "pack": "wolf", "colony": "ant"}
EN_SPECIES_PLURAL = {s.key: s.plurals[0] for s in SPECIES.values()}
_SIMILE = frozenset({"like", "as", "than"})
_SENTENCE_START = re.compile(r"(?:^|[.!?。！？]\s*[\"”’']?\s*|\n\s*)$")


def read_english(text: str, registry: Registry) -> None:
    """Add the characters of English text (and Chinese names inside it) to `registry`."""
    nouns = _nouns(text)
    for noun in nouns:
        registry.noun(noun)
    for m in _TITLE_RE.finditer(text):
        _titled(m, registry)
    for m in _NAMING_RE.finditer(text):
        registry.name(m.group(1), m.start(1), noun=_noun_before(nouns, text, m.start()))
    for m in _APPOSITION_RE.finditer(text):
        apposed = next((n for n in nouns if n.end == m.start() and not n.plural), None)
        if apposed is not None and is_english_name_word(m.group(1)):
            registry.name(m.group(1), m.start(1), noun=apposed)
    for noun in nouns:
        after = re.match(rf"[ \t]+({_NAME})\b", text[noun.end:])
        if after and not noun.plural and is_english_name_word(after.group(1)) and noun.display.startswith("the "):
            registry.name(after.group(1), noun.end + after.start(1), noun=noun)  # her grandson Jun
    for m in re.finditer(rf"\b{_NAME}(?:[ \t]+{_NAME})*\b", text):
        _proper(m, text, registry)
    for m in re.finditer(rf"\b({_NAME}(?:[ \t]+{_NAME})?),\s+(?:a|an|the)\s+", text):
        described = next((n for n in nouns if m.end() <= n.start <= m.end() + 25 and not n.plural), None)
        if described is not None and not re.search(r"[.,;!?]", text[m.end():described.start]) and all(
                is_english_name_word(w) for w in m.group(1).split()):
            registry.describe(registry.name(m.group(1), m.start(1)), described)  # Zhang Wei, a young baker
    for m in _COPULA_RE.finditer(text):
        member = registry.members.get(m.group(1))
        what = next((n for n in nouns if m.end() <= n.start <= m.end() + 30 and not n.plural), None)
        if member is not None and what is not None and not re.search(r"[.,;!?]", text[m.end():what.start]):
            registry.describe(member, what)


def _titled(m: re.Match[str], registry: Registry) -> None:
    title, name = m.group(1), m.group(2)
    lowered = title.lower()
    words = name.split()
    if not all(is_english_name_word(w) or re.fullmatch(_CJK_NAME, w) or w.lower() in EN_SPECIES for w in words):
        return
    if lowered in _ADJECTIVE_TITLES:
        if words[0].lower() in EN_SPECIES or not is_english_name_word(words[0]):
            return
        registry.name(name, m.start(2), age=_ADJECTIVE_TITLES[lowered])
        return
    full = f"{title}. {name}" if lowered in ("mr", "mrs", "ms", "dr") else f"{title} {name}"
    noun = _title_noun(title, name, m.start(), m.end())
    registry.name(full, m.start(), noun=noun, gender=EN_TITLES.get(lowered, ""))


def _title_noun(title: str, name: str, start: int, end: int) -> Noun | None:
    """What a title says the named one is: Grandma → a grandmother, Mother Goose → a mother goose."""
    species = next((EN_SPECIES[w.lower()][0] for w in name.split() if w.lower() in EN_SPECIES), "")
    role = EN_ROLES.get(title.lower(), "")
    if not (species or role):
        return None
    return Noun(start, end, f"{title} {name}", species=species, role=role)


def _noun_before(nouns: list[Noun], text: str, at: int) -> Noun | None:
    """The nearest character noun in the five words before `at`, in the same sentence."""
    before = [n for n in nouns if n.end <= at and not n.plural]
    if not before:
        return None
    noun = before[-1]
    gap = text[noun.end:at]
    return noun if len(_WORD.findall(gap)) <= 4 and not re.search(r"[.!?;]", gap) else None


def _proper(m: re.Match[str], text: str, registry: Registry) -> None:
    """A run of capitalised words that behaves like a name: it recurs, acts, or stands mid-sentence."""
    words = m.group().split()
    previous = _WORD.findall(text[max(0, m.start() - 20):m.start()])
    last = previous[-1].lower() if previous else ""
    if last in EN_TITLES or words[0].lower() in EN_TITLES or len(words) > 2:
        return
    if not all(is_english_name_word(w) for w in words):
        return
    name, start = m.group(), m.start()
    end = start + len(name)
    if last in PLACE_PREPS | PREPOSITIONS and not _acts(text, end):
        return
    if last in ("named", "called"):
        return
    cjk_next = bool(re.search(r"[\u4e00-\u9fff]", text[end:end + 1] + text[max(0, start - 1):start]))
    if _recurs(words[0], text) or not _SENTENCE_START.search(text[:start]) or _acts(text, end) or cjk_next:
        registry.name(name, start)


def _recurs(word: str, text: str) -> bool:
    return len(re.findall(rf"\b{re.escape(word)}\b", text)) >= 2


def _acts(text: str, end: int) -> bool:
    """Whether the word after `end` is a verb: the capitalised word before it is someone acting."""
    following = re.match(r"[ \t]+([a-z]+)", text[end:end + 30])
    if not following:
        return False
    word = following.group(1)
    return word in VERBS or bool(re.fullmatch(r"[a-z]{3,}ed", word))


def _nouns(text: str) -> list[Noun]:
    """Every character noun: a species (maybe made: a clockwork mouse) or a role, singular or plural;
    a group word (the swarm); and "the boat" for a paper boat named before."""
    nouns = []
    for m in _NOUN_RE.finditer(text):
        word = m.group(1).lower()
        before = _WORD.findall(text[max(0, m.start() - 40):m.start()])
        if any(w.lower() in _SIMILE for w in before[-2:]):
            continue  # "howled like a wolf", "no bigger than a kitten"
        if _is_modifier(text, m.end()):
            continue
        nouns.append(_noun(m, word, before, text))
    nouns += _collectives(text, nouns) + _heads(text, nouns)
    return sorted(nouns, key=lambda n: n.start)


def _collectives(text: str, nouns: list[Noun]) -> list[Noun]:
    """"the swarm", "the whole flock": the story's group of animals (a swarm of bees by default)."""
    groups = [n.species for n in nouns if n.plural and n.species]
    found = []
    for m in re.finditer(r"\b(swarm|flock|herd|pack|colony)\b", text, re.I):
        species = groups[-1] if groups else _COLLECTIVES[m.group(1).lower()]
        found.append(Noun(m.start(), m.end(), m.group(1), species=species, plural=True,
                          display=f"the {EN_SPECIES_PLURAL.get(species, m.group(1).lower())}"))
    return found


def _heads(text: str, nouns: list[Noun]) -> list[Noun]:
    """Later "the (little) boat" for a paper boat, "the keeper" for a lighthouse keeper."""
    found = []
    for noun in nouns:
        words = noun.surface.split()
        if len(words) < 2 or noun.plural:
            continue
        head = words[-1]
        for m in re.finditer(rf"\bthe\s+(?:[a-z]+\s+)?({re.escape(head)})\b", text[noun.end:], re.I):
            start = noun.end + m.start(1)
            if not any(n.start <= start < n.end for n in nouns):
                found.append(Noun(start, start + len(head), head, species=noun.species, role=noun.role,
                                  made=noun.made, display=noun.display))
    return found


def _noun(m: re.Match[str], word: str, before: list[str], text: str) -> Noun:
    last = before[-1].lower() if before else ""
    made = last in EN_MATERIALS
    determiner = next((w.lower() for w in reversed(before[-4:]) if w.lower() in
                       ("a", "an", "one", "the", "his", "her", "their", "its", "my", "our")), "")
    if word in EN_SPECIES:
        species, plural = EN_SPECIES[word]
        role = ""
    else:
        species, role = "", EN_ROLES.get(word) or EN_ROLE_PLURALS[word]
        plural = word not in EN_ROLES
    surface = m.group(1)
    phrase = f"{last} {word}" if made else word
    used_as_name = surface[0].isupper() and not _SENTENCE_START.search(text[:m.start()])
    display = surface if used_as_name and not plural else f"the {phrase}"
    if role and not plural and ROLES[role].kin and used_as_name:
        display = surface
    return Noun(m.start(1) - (len(last) + 1 if made else 0), m.end(1), phrase if made else surface,
                species=species, role=role, plural=plural, singular=determiner in _SINGULAR, made=made,
                display=display)


def _is_modifier(text: str, end: int) -> bool:
    """Whether the noun modifies the next word (a dog house, a baby dragon): a following noun we know."""
    following = re.match(r"\s+([a-z]+)", text[end:])
    if following is None:
        return False
    word = following.group(1)
    return word in EN_SPECIES or word in EN_ROLES or word in {"food", "house", "bed", "bowl", "shop", "hair", "flap",
                                                              "door", "station", "show", "sled", "race", "cave", "den"}
