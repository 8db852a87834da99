"""A character's fixed look, by kind: animals get fur, feathers or scales of their species' colours, a
size and maybe an accessory, never hair; people get hair and clothes that fit their age, gender and
role; things get their material. Looks written in the script win slot by slot. The same character
(name, kind, species, role) always gets the same look."""

from __future__ import annotations

import re

from app.services.storyboard.language.text import digest, localized
from app.services.storyboard.rules.looktables import (
    ACCESSORIES,
    CLOTHES,
    CREATURE_FEATURES,
    GROUP_WORDS,
    HAIR,
    MADE,
    OUTFITS,
    PEOPLE_GROUP,
    PERSON_FEATURES,
    PERSON_NOUNS,
    THING_FEATURES,
)
from app.services.storyboard.rules.members import ANIMAL, GROUP, PERSON, THING, Member
from app.services.storyboard.rules.roles import ROLES
from app.services.storyboard.rules.species import BODIES, COLOURS, EN_SPECIES, SIZES, SPECIES, ZH_SPECIES
from app.services.storyboard.rules.written import BUILD, COAT, FEATURE, SIZE, WEAR

_SEP = ("，", ", ")


def member_look(member: Member, lang: str) -> str:
    """The look every prompt showing `member` repeats verbatim."""
    h = digest(f"{member.name}|{member.kind}|{member.species}|{member.role}")
    if member.kind == PERSON:
        parts = _person(member, h, lang)
    elif member.kind == GROUP:
        parts = _group(member, h, lang)
    elif member.kind == THING:
        parts = _thing(member, h, lang)
    else:
        parts = _animal(member, h, lang)
    return localized(_SEP, lang).join(p for p in parts if p)


def character_look(name: str, kind: str, language: str, species: str = "") -> str:
    """The look of a character known only by name and kind ("animal", "person"…), e.g. 小狗."""
    key = species or ZH_SPECIES.get(name) or EN_SPECIES.get(name.removeprefix("the "), ("", False))[0]
    kind = kind if kind in (PERSON, THING, GROUP) else ANIMAL if key else PERSON
    return member_look(Member(key=name, name=name, kind=kind, species=key, label=name), language)


def _pick(options: tuple[tuple[str, str], ...], h: int, lang: str) -> str:
    return localized(options[h % len(options)], lang)


def _coat(member: Member, h: int, lang: str) -> str:
    if COAT in member.written:
        return member.written[COAT]
    species = SPECIES[member.species]
    colour = localized(COLOURS[species.colours[h % len(species.colours)]], lang)
    body = localized(BODIES[species.body], lang)
    return f"{colour}的{body}" if lang == "zh" else f"{colour} {body}"


def _animal(member: Member, h: int, lang: str) -> list[str]:
    species = SPECIES[member.species]
    noun = _creature_noun(member, lang)
    size = member.written.get(SIZE) or localized(SIZES[species.size], lang)
    if noun.startswith(("小", "大", "老")) or "宝宝" in noun:
        size = ""
    if lang == "en" and re.search(r"\b(?:cub|baby|puppy|kitten|duckling|chick|piglet|lamb|fawn|foal)\b", noun):
        size = member.written.get(SIZE, "")
    build = member.written.get(BUILD, "")
    accessory = member.written.get(WEAR) or (_pick(ACCESSORIES, h >> 8, lang) if (h >> 4) % 3 else "")
    feature = member.written.get(FEATURE) or _pick(CREATURE_FEATURES, h >> 16, lang)
    if lang == "zh":
        head = f"一只{build}{size}{noun}"
    else:
        rest = [w for w in (build, size, noun) if w]
        head = " ".join([_article(rest[0]), *rest])
    return [head, _coat(member, h, lang), accessory, feature]


def _creature_noun(member: Member, lang: str) -> str:
    species = SPECIES[member.species]
    role = ROLES.get(member.role)
    if role is not None and role.kin:
        if lang == "zh":
            base = species.zh[0]
            return f"{base}{role.zh[0]}"
        return f"{role.en[0]} {species.en[0]}"
    label = member.label
    if lang == "zh" and label and any(label.endswith(w) for w in species.zh):
        return label
    if lang == "en" and EN_SPECIES.get(label.lower(), ("", True)) == (species.key, False):
        return label.lower()
    return localized((species.zh[0], species.en[0]), lang)


def _thing(member: Member, h: int, lang: str) -> list[str]:
    species = SPECIES[member.species]
    if species.kind == ANIMAL:  # a made thing shaped like an animal
        material = localized(MADE.get(_made_body(member), MADE["metal"]), lang)
        noun = f"{material}{species.zh[0]}" if lang == "zh" else f"a {material} {species.en[0]}"
        feature = member.written.get(FEATURE) or _pick(CREATURE_FEATURES, h >> 16, lang)
        return [noun, member.written.get(WEAR, ""), feature]
    noun = member.label if lang == "zh" and member.label in ZH_SPECIES else localized(
        (species.zh[0], f"a {species.en[0]}"), lang)
    feature = member.written.get(FEATURE) or localized(THING_FEATURES.get(species.key, ("", "")), lang)
    return [noun, _coat(member, h, lang), member.written.get(WEAR, ""), feature]


def _made_body(member: Member) -> str:
    label = member.label.lower()
    for word, body in (("clockwork", "metal"), ("tin", "metal"), ("mechanical", "metal"), ("发条", "metal"),
                       ("toy", "plush"), ("stuffed", "plush"), ("wooden", "wood"), ("paper", "paper")):
        if word in label:
            return body
    return "metal"


def _group(member: Member, h: int, lang: str) -> list[str]:
    words = localized(GROUP_WORDS, lang)
    if member.species:
        species = SPECIES[member.species]
        noun = localized((member.label.removesuffix("们") if member.label else species.zh[0], species.plurals[0]), lang)
        feature = _pick(CREATURE_FEATURES, h >> 16, lang)
        return [f"{words}{noun}" if lang == "zh" else f"{words} {noun}", _coat(member, h, lang), feature]
    role = ROLES.get(member.role)
    noun = localized((member.label.removesuffix("们") or "孩子", (role.en[0] + "s") if role else "people"), lang)
    if role is not None and role.key == "child":
        noun = localized(("孩子", "children"), lang)
    return [f"{words}{noun}" if lang == "zh" else f"{words} {noun}", localized(PEOPLE_GROUP, lang)]


def _person(member: Member, h: int, lang: str) -> list[str]:
    role = ROLES.get(member.role)
    age = member.age or (role.age if role and role.age else "adult")
    gender = member.gender or (role.gender if role else "")
    noun = localized(PERSON_NOUNS[(gender, age)], lang)
    if role is not None and not role.generic and not role.kin:
        noun = localized((role.zh[0], role.en[0]), lang)
    if member.years:
        noun = f"{member.years}岁的{noun}" if lang == "zh" else f"{member.years}-year-old {noun}"
    build = member.written.get(BUILD, "")
    head = f"{build}{noun}" if lang == "zh" else " ".join(w for w in (_article(build or noun), build, noun) if w)
    hair = _pick(HAIR[(gender, age)], h, lang)
    outfit = OUTFITS.get(member.role)
    wear = member.written.get(WEAR) or (localized(outfit, lang) if outfit else _pick(CLOTHES[age], h >> 8, lang))
    feature = member.written.get(FEATURE) or _pick(PERSON_FEATURES, h >> 16, lang)
    return [head, hair, wear, feature]


def _article(word: str) -> str:
    if word[:1].isdigit():
        return "an" if word.startswith(("8", "11", "18")) else "a"
    return "an" if word[:1].lower() in "aeiou" else "a"
