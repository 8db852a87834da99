"""Who each part of the text is about: names and nouns (sites) plus pronouns resolved to the last fitting
character, each with its part in the clause (subject, object, or not in the scene).

它/it go to an animal or a thing, 他/她/he/she to someone of that gender (or not yet known), 它们/they
to a group or to the last two characters. An object pronoun never means its own sentence's subject
("妈妈朝它跑来": 它 is not 妈妈). A character someone looks for, misses or waits for, one only owning
something ("妈妈的车") or only spoken of in quotes is not in the scene.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.services.storyboard.rules.clauses import Layout
from app.services.storyboard.rules.members import (
    ABSENT,
    ANIMAL,
    GROUP,
    OBJECT,
    PERSON,
    POSSESSIVE,
    QUOTED,
    SUBJECT,
    THING,
    Member,
    Ref,
    Site,
)
from app.services.storyboard.rules.roles import EN_PRONOUNS, ZH_PRONOUNS
from app.services.storyboard.rules.segment import Token
from app.services.storyboard.rules.stopwords import PREPOSITIONS, VERBS

_ZH_PAIRS = "祖孙俩|两个好朋友|两个小伙伴|他俩|她俩|它俩|两人|两个人|它们俩|他们俩"
_PRONOUN_RE = re.compile(
    rf"{_ZH_PAIRS}|它们|他们|她们|[它他她]|(?<![A-Za-z])(?:the two of them|both of them|the two friends|"
    r"he|him|his|she|her|hers|it|its|they|them|their)(?![A-Za-z'’])",
    re.I,
)
_ZH_ABSENT_BEFORE = re.compile(
    r"(?:找不到|寻找|去找|在找|找(?!到)|想念|思念|想着|想|等着|等待|等|盼着|梦见|见不到|看不到|没看见|看望|去看)"
    r"[^，。！？；：,.!?;:]{0,6}$"
)
_ZH_ABSENT_AFTER = re.compile(r"^(?:不见了|不在|还没回来|没回来|没有来|没来|去世|离开了|已经走了)")
_ZH_LETTER = (re.compile(r"给[^，。！？]{0,8}$"), re.compile(r"^[^，。！？]{0,4}(?:写|寄|打电话)"))
_EN_ABSENT_BEFORE = re.compile(
    r"\b(?:look(?:s|ed|ing)? for|search(?:es|ed|ing)? for|wait(?:s|ed|ing)? for|miss(?:es|ed|ing)?|"
    r"thought of|thinking of|dream(?:s|ed|t)? of|wrote to|writes? to|message to|letter to|no sign of|"
    r"(?:could not|couldn't|can't|cannot) find|without|visit(?:s|ed|ing)?|longed for|(?:that|which))"
    r"\s+(?:[\w'’]+\s+){0,3}$",
    re.I,
)
_EN_ABSENT_AFTER = re.compile(
    r"^\s+(?:(?:was|had|is)\s+(?:gone|missing|away|lost)|(?:did not|didn't|never|does not|doesn't) (?:come|show))\b",
    re.I)
_ZH_BODY = re.compile(r"^的?(?:怀|手|头|脸|脖子|肩膀|鼻尖|眼睛|尾巴|背|身边|身上|耳朵|嘴|胸口|脚|翅膀)")
_EN_BODY = frozenset("head hand hands arm arms face neck shoulder shoulders eyes tail back side wings lap fins fur "
                     "nose paws feet cheek cheeks ear ears".split())
_COORD = re.compile(r"^\s*(?:和|与|跟|、|,?\s*and)\s*$", re.I)


@dataclass
class _State:
    refs: list[Ref]
    members: dict[str, Member]


def read_refs(text: str, members: dict[str, Member], sites: Sequence[Site], zh_tokens: list[Token]) -> list[Ref]:
    """Every reference to a character in text, in order, with pronouns resolved and roles set."""
    layout = Layout(text, zh_tokens)
    state = _State([], members)
    items: list[tuple[int, int, str | None, str]] = [(s.start, s.end, s.key, "") for s in sites]
    taken = [(s.start, s.end) for s in sites]
    for m in _PRONOUN_RE.finditer(text):
        if not any(a <= m.start() < b for a, b in taken) and not _expletive(text, m):
            items.append((m.start(), m.end(), None, m.group().lower()))
    for start, end, key, pronoun in sorted(items):
        role = _role(text, start, end, layout, state, pronoun)
        possessive = _possessive(text, end, pronoun)
        # an object pronoun never means its sentence's subject; nor does a Chinese possessive one
        # ("一只蝴蝶停在它的鼻尖上"), though an English one may ("Tomas felt a tug on his line")
        bound = role == OBJECT and not possessive or possessive and pronoun in ZH_PRONOUNS and role != SUBJECT
        keys = (key,) if key else _resolve(pronoun, start, bound, role == SUBJECT, layout, state)
        if keys:
            state.refs.append(Ref(start, end, keys, role, pronoun=bool(pronoun)))
    return state.refs


def _expletive(text: str, m: re.Match[str]) -> bool:
    """'It was time…', 'as if to say it was only noise': an 'it' that means no one."""
    return m.group().lower() == "it" and bool(re.match(r"\s+(?:was|is|seemed|looked|felt)\b", text[m.end():]))


# --------------------------------------------------------------------------- roles


def _role(text: str, start: int, end: int, layout: Layout, state: _State, pronoun: str) -> str:
    if layout.quoted(start):
        return QUOTED
    clause_start = layout.clause_start(start)
    before, after = text[clause_start:start], text[end:end + 24]
    if _absent(before, after):
        return ABSENT
    if _possessive(text, end, pronoun):
        return OBJECT if _owns_body_part(text, end) else POSSESSIVE
    previous = [r for r in state.refs if r.start >= clause_start and r.role != POSSESSIVE]
    if previous and _COORD.match(text[previous[-1].end:start]):
        return previous[-1].role
    if previous or layout.acted_on(clause_start, start):
        return OBJECT
    return SUBJECT


def _absent(before: str, after: str) -> bool:
    if _ZH_ABSENT_BEFORE.search(before) or _ZH_ABSENT_AFTER.match(after) or _EN_ABSENT_AFTER.match(after):
        return True
    if _ZH_LETTER[0].search(before) and _ZH_LETTER[1].match(after):
        return True
    return bool(_EN_ABSENT_BEFORE.search(before))


def _possessive(text: str, end: int, pronoun: str) -> bool:
    if pronoun in ("his", "its", "their", "hers"):
        return True
    if pronoun == "her":
        following = re.match(r"\s+([a-z]+)", text[end:])
        return following is not None and following.group(1) not in PREPOSITIONS | VERBS | {"and", "that", "to", "so"}
    return text.startswith("的", end) or text.startswith(("'s", "’s"), end)


def _owns_body_part(text: str, end: int) -> bool:
    if _ZH_BODY.match(text[end:end + 4]):
        return True
    following = re.match(r"(?:['’]s)?\s+(?:[a-z]+\s+)?([a-z]+)", text[end:end + 30])
    return following is not None and following.group(1) in _EN_BODY


# --------------------------------------------------------------------------- pronouns


def _resolve(pronoun: str, start: int, bound: bool, leads: bool, layout: Layout, state: _State
             ) -> tuple[str, ...]:
    person = ZH_PRONOUNS.get(pronoun) or EN_PRONOUNS.get(pronoun, ("they", False))[0]
    sentence = layout.sentence(start)
    recent = [r for r in reversed(state.refs) if sentence - layout.sentence(r.start) <= 3]
    if person == "they":
        return _plural(recent, state, layout, sentence)
    keys = list(dict.fromkeys(k for r in recent for k in r.keys if len(r.keys) == 1))
    fitting = [k for k in keys if _fits(state.members[k], person)]
    if person in ("he", "she"):  # one known to be of that gender before one not yet known
        fitting.sort(key=lambda k: not state.members[k].gender)
    if leads:  # a pronoun that leads its clause goes on with the last character that led one:
        # this sentence's own subject first ("Rusty was afraid, but he knew"), then recent ones
        subjects = [k for r in recent if r.role == SUBJECT for k in r.keys if len(r.keys) == 1]
        topic = _topic(state.refs, layout, sentence)
        fitting.sort(key=lambda k: (k != topic, k not in subjects[:2]))
    if bound:  # "妈妈朝它跑来", "Bo thanked her": an object pronoun is not its sentence's subject
        topic = _topic(state.refs, layout, sentence)
        fitting = [k for k in fitting if k != topic] or fitting
    if re.match(r"[他她]", pronoun):
        people = [k for k in fitting if state.members[k].kind == PERSON]
        fitting = people or fitting
    if not fitting:
        return ()
    chosen = state.members[fitting[0]]
    if person in ("he", "she") and not chosen.gender:
        chosen.gender = "m" if person == "he" else "f"
    return (chosen.key,)


def _fits(member: Member, person: str) -> bool:
    if member.kind == GROUP:
        return False
    if person == "it":
        return member.kind in (ANIMAL, THING)
    gender = "m" if person == "he" else "f"
    return member.gender in ("", gender)


def _topic(refs: list[Ref], layout: Layout, sentence: int) -> str | None:
    """The subject of a sentence: its first subject reference to a single character."""
    return next((r.keys[0] for r in refs if layout.sentence(r.start) == sentence and r.role == SUBJECT
                 and len(r.keys) == 1), None)


def _plural(recent: list[Ref], state: _State, layout: Layout, sentence: int) -> tuple[str, ...]:
    group = next((r.keys[0] for r in recent if state.members[r.keys[0]].kind == GROUP), None)
    if group is not None:
        return (group,)
    keys: list[str] = []
    for ref in recent:
        if sentence - layout.sentence(ref.start) > 2:
            break
        for key in ref.keys:
            if key not in keys and ref.role != ABSENT:
                keys.append(key)
    return tuple(keys[:2]) if len(keys) >= 2 else ()

