"""Collecting a story's characters: named ones as the readers find them, then every noun that names a
character ("小狗", "the kitten", "一群小鸭子") folded into the right one.

A noun goes to the one named character it describes (小鸭子 → 嘎嘎, the only named duckling; 老奶奶 →
周奶奶, the only named old woman), else to an unnamed character of that species or role; plural nouns
go to a group. Nouns that are part of a naming ("小狗豆豆", "a bear named Bo") are no extra mention.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from app.services.storyboard.rules.members import ANIMAL, GROUP, PERSON, THING, Member, Site
from app.services.storyboard.rules.roles import ROLES, ZH_GROUPS, Role
from app.services.storyboard.rules.species import SPECIES


@dataclass(frozen=True)
class Noun:
    """A noun naming a character: a species (animal or thing) or a role (person), maybe plural."""

    start: int
    end: int
    surface: str
    species: str = ""
    role: str = ""
    plural: bool = False
    singular: bool = False  # a classifier or article says "one" (一只, a)
    made: bool = False  # a made thing shaped like the species (a clockwork mouse)
    display: str = ""  # how an unnamed character is called (the kitten); default the surface


class Registry:
    """Named characters and character nouns of one text, folded into members and sites."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.members: dict[str, Member] = {}
        self.sites: list[Site] = []
        self._nouns: list[Noun] = []
        self._covered: list[tuple[int, int, str]] = []
        self._name_counts: Counter[tuple[str, str]] = Counter()
        self._same: dict[int, int] = {}

    # ----------------------------------------------------------------- the readers' calls

    def name(self, name: str, start: int, *, noun: Noun | None = None, gender: str = "", age: str = "") -> Member:
        """A named character at `start`; `noun` is the noun naming what it is (covered: no extra mention)."""
        key = name
        member = self.members.get(key) or Member(key=key, name=name, kind=PERSON, named=True, first=start)
        self.members[key] = member
        member.first = min(member.first, start)
        member.forms.add(name)
        member.names.add(name)
        member.gender = member.gender or gender
        member.age = member.age or age
        if noun is not None:
            self.describe(member, noun)
        self._name_counts[(key, name)] += 1
        self.sites.append(Site(start, start + len(name), key))
        return member

    def describe(self, member: Member, noun: Noun, *, cover: bool = True) -> None:
        """What a named character is, from a noun naming it; a covered noun is no extra mention (小狗豆豆),
        an uncovered one is a mention of the character (一只小鸭子……它叫嘎嘎)."""
        if noun.species:
            member.species = member.species or noun.species
            member.kind = THING if noun.made or SPECIES[noun.species].kind == THING else ANIMAL
        if noun.role:
            role = ROLES[noun.role]
            if not member.role or _replaces(ROLES[member.role], role):
                member.role = noun.role
            member.gender = member.gender or role.gender
            member.age = member.age or role.age
        member.label = member.label or noun.surface
        member.forms.add(noun.surface)
        if cover:
            self._covered.append((noun.start, noun.end, member.key))

    def noun(self, noun: Noun) -> None:
        """A noun naming a character; it is assigned once every named character is known."""
        self._nouns.append(noun)

    def same(self, noun: Noun, other: Noun) -> None:
        """`noun` names the same character as `other` (店主 是 老奶奶)."""
        self._same[noun.start] = other.start

    # ----------------------------------------------------------------- folding

    def finish(self) -> tuple[dict[str, Member], list[Site]]:
        """Assign every noun to a member; return the members and all sites in text order."""
        self._merge_names()
        assigned: dict[int, str] = {}
        nouns = sorted(self._nouns, key=lambda n: (n.start in self._same, n.start))
        for noun in nouns:
            key = self._cover_of(noun) or assigned.get(self._same.get(noun.start, -1)) or self._assign(noun)
            assigned[noun.start] = key
            self.members[key].forms.add(noun.surface)
            if self._cover_of(noun) is None:
                self.sites.append(Site(noun.start, noun.end, key, "一" if noun.singular else ""))
                self.members[key].first = min(self.members[key].first, noun.start)
        for member in self.members.values():
            names = [(len(form), count, form) for (key, form), count in self._name_counts.items() if key == member.key]
            if names:
                member.name = max(names)[2]
                member.forms.add(member.name)
        keys = {m.key for m in self.members.values()}
        sites = sorted((s for s in self.sites if s.key in keys), key=lambda s: (s.start, -s.end))
        return self.members, _without_overlaps(sites)

    def _cover_of(self, noun: Noun) -> str | None:
        return next((key for a, b, key in self._covered if a <= noun.start and noun.end <= b), None)

    def _merge_names(self) -> None:
        """Fold a name into another that contains it as whole words (Smith → Mr. Smith, 奶奶 Wang ~ Grandma Wang)."""
        for member in sorted(self.members.values(), key=lambda m: len(m.key)):
            host = next((m for m in self.members.values() if m is not member and _same_name(member, m)), None)
            if host is None:
                continue
            host.forms |= member.forms
            host.names |= member.names
            host.first = min(host.first, member.first)
            host.gender, host.age = host.gender or member.gender, host.age or member.age
            host.species, host.role = host.species or member.species, host.role or member.role
            host.label = host.label or member.label
            if member.kind != PERSON:
                host.kind = member.kind
            for (key, form), count in list(self._name_counts.items()):
                if key == member.key:
                    self._name_counts[(host.key, form)] += count
                    del self._name_counts[(key, form)]
            self.sites = [Site(s.start, s.end, host.key) if s.key == member.key else s for s in self.sites]
            self._covered = [(a, b, host.key if k == member.key else k) for a, b, k in self._covered]
            del self.members[member.key]

    def _assign(self, noun: Noun) -> str:
        if noun.plural:
            return self._group(noun)
        if noun.species:
            return self._creature(noun)
        return self._person(noun)

    def _group(self, noun: Noun) -> str:
        role = ROLES.get(noun.role)
        groups = [m for m in self.members.values() if m.kind == GROUP]
        if role is not None and role.kin and len(groups) == 1:
            return groups[0].key  # 哥哥姐姐们 among the ducklings
        key = f"group:{noun.species or noun.role}"
        if key not in self.members:
            self.members[key] = Member(key=key, name=_group_name(noun, self.lang), kind=GROUP, species=noun.species,
                                       role=noun.role, label=noun.surface, first=noun.start,
                                       age=role.age if role else "")
        self.members[key].forms.add(noun.surface)
        return key

    def _creature(self, noun: Noun) -> str:
        named = [m for m in self.members.values()
                 if m.named and m.species == noun.species and not (m.role and ROLES[m.role].kin)]
        if len(named) == 1 and not noun.made:
            named[0].forms.add(noun.surface)
            return named[0].key
        group = self.members.get(f"group:{noun.species}")
        if group is not None and not noun.singular and self.lang == "zh":
            group.forms.add(noun.surface)
            return group.key
        key = f"{'thing' if noun.made else 'species'}:{noun.species}"
        kind = THING if noun.made or SPECIES[noun.species].kind == THING else ANIMAL
        return self._unnamed(key, noun, Member(key=key, name="", kind=kind, species=noun.species))

    def _person(self, noun: Noun) -> str:
        role = ROLES[noun.role]
        people = [m for m in self.members.values() if m.named and (m.kind == PERSON or role.kin)]
        if role.generic:
            fits = [m for m in people if m.kind == PERSON and _fits(m, role.gender, role.age)]
        else:
            fits = [m for m in people if m.role == noun.role]
        if len(fits) == 1:
            fits[0].forms.add(noun.surface)
            return fits[0].key
        key = f"role:{noun.role}"
        return self._unnamed(key, noun, Member(key=key, name="", kind=PERSON, role=noun.role, gender=role.gender,
                                               age=role.age))

    def _unnamed(self, key: str, noun: Noun, member: Member) -> str:
        """An unnamed character called by the noun (小花猫, the kitten), made once per species or role."""
        if key not in self.members:
            member.name, member.label, member.first = noun.display or noun.surface, noun.surface, noun.start
            self.members[key] = member
        self.members[key].forms.add(noun.surface)
        return key


def _replaces(current: Role, new: Role) -> bool:
    """A plain or family word gives way to a trade (林阿姨 the astronaut, 张爷爷 the fisherman)."""
    return current.generic or (current.kin or current.title) and not (new.kin or new.generic or new.title)


def _fits(member: Member, gender: str, age: str) -> bool:
    return (not gender or member.gender in ("", gender)) and (not age or member.age in ("", age))


def _same_name(small: Member, big: Member) -> bool:
    """Whether `small`'s name is `big`'s name or a part of it in whole Latin words (Lena ⊂ Lena Ortiz)."""
    if not (small.named and big.named) or len(small.key) > len(big.key):
        return False
    words = re.findall(r"[A-Za-z]+", small.key)
    if not words or re.search(r"[\u4e00-\u9fff]", small.key):
        return False
    big_words = re.findall(r"[A-Za-z]+", big.key)
    titles = {"mr", "mrs", "ms", "miss", "dr", "old", "little", "young"}
    core = [w for w in words if w.lower() not in titles]
    return bool(core) and all(w in big_words for w in core) and (small.gender in ("", big.gender) or not big.gender)


def _group_name(noun: Noun, lang: str) -> str:
    if noun.display:
        return noun.display
    if lang == "zh" or re.search(r"[\u4e00-\u9fff]", noun.surface):
        if noun.surface.endswith(("们", "俩")) or noun.surface in ZH_GROUPS:
            return noun.surface
        return noun.surface + "们"
    return f"the {noun.surface.lower()}"


def _without_overlaps(sites: list[Site]) -> list[Site]:
    kept: list[Site] = []
    for site in sites:
        if kept and site.start < kept[-1].end:
            continue
        kept.append(site)
    return kept
