"""A premise's lead: the noun phrase it opens with is its protagonist ("An old clockmaker builds a bird",
"会飞的猪想去看海"), even when no word table knows the noun."""

from __future__ import annotations

import re

from app.services.storyboard.rules.cast import MAX_CAST
from app.services.storyboard.rules.members import ANIMAL, PERSON, Member
from app.services.storyboard.rules.mentions import first_mention
from app.services.storyboard.rules.roles import EN_ROLE_PLURALS, EN_ROLES
from app.services.storyboard.rules.species import EN_SPECIES, ZH_SPECIES

_NOUNS = frozenset({*EN_SPECIES, *EN_ROLES, *EN_ROLE_PLURALS})

_ZH_LEAD_PREFIX = re.compile(r"[\s\W]*(?:从前|很久以前|有一天)?[，,]?\s*有?(?:一[只个位条头匹群座棵])?")
_ZH_LEAD_STOP = re.compile(r"[找去在要想和与把被是说遇发寻，。！？,.!?；;\s]")
_EN_DETERMINERS = frozenset("a an the one two three four five six seven eight nine ten some many".split())
_EN_LEAD_STOP = frozenset(
    "who that which is was are were has had have and with in on at to from for of by into can could will would"
    " must should".split()
)


def with_premise_lead(premise: str, cast: list[Member], lang: str) -> list[Member]:
    """The cast with the premise's leading noun phrase as protagonist."""
    lead = _leading_phrase(premise, lang)
    if lead is None:
        return cast
    inside = [m for m in cast if first_mention(m, premise) < lead[2]]
    if inside:
        return [inside[0], *(m for m in cast if m is not inside[0])]
    name, kind, _end = lead
    species = next((ZH_SPECIES[name[i:]] for i in range(len(name)) if name[i:] in ZH_SPECIES), "")
    member = Member(key=name, name=name, kind=kind, species=species, forms={name}, label=name)
    return [member, *cast][:MAX_CAST]


def _leading_phrase(text: str, lang: str) -> tuple[str, str, int] | None:
    """The premise's leading noun phrase as (name, kind, end offset): 会飞的猪, Tom, the old clockmaker."""
    if lang == "zh":
        prefix = _ZH_LEAD_PREFIX.match(text)
        begin = prefix.end() if prefix else 0
        phrase = _ZH_LEAD_STOP.split(text[begin:], maxsplit=1)[0]
        phrase = re.sub(r"(的)?(故事|童话|冒险|传说)$", "", phrase)
        if not 2 <= len(phrase) <= 6:
            return None
        kind = ANIMAL if any(phrase[i:] in ZH_SPECIES for i in range(len(phrase))) else PERSON
        return phrase, kind, begin + len(phrase)
    words = list(re.finditer(r"[A-Za-z']+", text))
    article = bool(words) and words[0].group().lower() in _EN_DETERMINERS
    head: list[re.Match[str]] = []
    for word in words[int(article):int(article) + 3]:
        w = word.group()
        if w.lower() in _EN_LEAD_STOP | _EN_DETERMINERS or (head and re.search(r"(s|ed)$", w)
                                                             and w.lower() not in _NOUNS):
            break
        head.append(word)
        if w.lower() in _NOUNS:
            break
    following = words[int(article) + len(head)].group().lower() if int(article) + len(head) < len(words) else ""
    if not head or not article and following in _EN_DETERMINERS:
        return None  # "Explore the old cave…": a verb, not who the premise is about
    phrase = " ".join(w.group() for w in head)
    name = f"the {phrase.lower()}" if article or not phrase[0].isupper() else phrase
    return name, PERSON, head[-1].end()
