"""The cast of a story: who is in it, who leads, and who every part of the text is about.

Reading a story: the Chinese reader (jieba words) and the English reader (rules) find named characters
and character nouns; a registry folds them into members; pronouns are resolved (`refs`); each member
is scored by how often it acts (subject 2, object 1, only spoken of 0.5) plus 2 for the one the story
opens with. The protagonist is the best scored; minor characters (an unnamed one seen once in a full
script) are left out. A relative of an animal hero with no kind of its own is an animal of that kind
(豆豆's 妈妈 is a dog).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from app.services.storyboard.language.text import CJK_RE, localized
from app.services.storyboard.rules.attributes import guess_attributes
from app.services.storyboard.rules.clauses import Layout
from app.services.storyboard.rules.discover_en import read_english
from app.services.storyboard.rules.discover_zh import read_chinese
from app.services.storyboard.rules.members import ANIMAL, GROUP, PERSON, SUBJECT, Member, Ref, Site
from app.services.storyboard.rules.refs import read_refs
from app.services.storyboard.rules.registry import Registry
from app.services.storyboard.rules.roles import ROLES
from app.services.storyboard.rules.segment import Token, tokens
from app.services.storyboard.rules.species import SPECIES
from app.services.storyboard.rules.written import find_written_looks

MAX_CAST = 5
_WEIGHTS = {SUBJECT: 2.0, "object": 1.0, "possessive": 1.0}
_OPENING_BONUS = 3.0


@dataclass
class Cast:
    """The members of a story, protagonist first, and every reference to them in the text."""

    members: list[Member]
    refs: list[Ref]

    @property
    def lead(self) -> Member:
        return self.members[0]

    def member(self, key: str) -> Member | None:
        return next((m for m in self.members if m.key == key), None)


def read_cast(text: str, lang: str, *, premise: bool = False) -> Cast:
    """Find the characters of `text` and every reference to them; [] members when it names nobody.

    Args:
        text: a story or premise (Chinese, English or both, emoji allowed).
        lang: the story's language ('zh' or 'en'), for the names of unnamed characters.
        premise: keep every character found (a one-line premise names each once).
    """
    registry = Registry(lang)
    zh_tokens = tokens(text) if CJK_RE.search(text) else []
    if zh_tokens:
        read_chinese(zh_tokens, registry)
    if re.search(r"[A-Za-z]{2}", text):
        read_english(text, registry)
    guess_attributes(text, registry.members)
    members, sites = registry.finish()
    sites = _with_name_sites(text, members, sites)
    refs = read_refs(text, members, sites, zh_tokens)
    layout = Layout(text, zh_tokens)
    ranked = _rank(members, refs, premise, _coverage(refs, layout))
    _inherit_kind(ranked)
    find_written_looks(text, members, refs, layout)
    kept = {m.key for m in ranked}
    return Cast(ranked, [r for r in refs if set(r.keys) <= kept])


def refs_in(text: str, cast: Sequence[Member]) -> list[Ref]:
    """References to known characters in a text of its own (a templated shot): names, nouns, pronouns."""
    members = {m.key: m for m in cast}
    sites = _with_name_sites(text, members, [], every_form=True)
    zh_tokens = tokens(text) if CJK_RE.search(text) else []
    return read_refs(text, members, sites, zh_tokens)


def generic_hero(lang: str) -> Member:
    """The protagonist of a story that names nobody."""
    name = localized(("主人公", "the hero"), lang)
    return Member(key=name, name=name, kind=PERSON, forms={name})


# --------------------------------------------------------------------------- sites, ranking, kinds


def _with_name_sites(text: str, members: dict[str, Member], sites: list[Site], *, every_form: bool = False
                     ) -> list[Site]:
    """Every occurrence of a member's proper names (every word for it, with `every_form`) as a site."""
    found = list(sites)
    for member in members.values():
        words = member.forms if every_form else member.names
        for word in sorted(words, key=lambda w: (-len(w), w)):
            for m in _word_re(word).finditer(text):
                if CJK_RE.match(word) and text.startswith(("地", "得"), m.end()):
                    continue  # 慢慢地走: the word as an adverb, not the name
                found.append(Site(m.start(), m.end(), member.key))
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    kept: list[Site] = []
    for site in found:
        if not kept or site.start >= kept[-1].end:
            kept.append(site)
    return kept


def _word_re(word: str) -> re.Pattern[str]:
    bare = word.removeprefix("the ")
    if CJK_RE.search(bare):
        return re.compile(re.escape(bare))
    return re.compile(rf"(?<![A-Za-z]){re.escape(bare)}(?![A-Za-z])", re.I if not bare[:1].isupper() else 0)


def _coverage(refs: Sequence[Ref], layout: Layout) -> dict[str, int]:
    """In how many parts of the story (paragraphs; sentences in a story of one or two paragraphs) each
    character is in the scene."""
    many = layout.paragraph(len(layout.text)) >= 2
    parts: dict[str, set[int]] = defaultdict(set)
    for ref in refs:
        if ref.present:
            for key in ref.keys:
                parts[key].add(layout.paragraph(ref.start) if many else layout.sentence(ref.start))
    return {key: len(found) for key, found in parts.items()}


def _rank(members: dict[str, Member], refs: Sequence[Ref], premise: bool, coverage: dict[str, int]) -> list[Member]:
    """Protagonist first: the character in the scene in most parts of the story, then the most prominent
    (references weighted by their part in the clause, plus a bonus for the one the story opens with)."""
    present: dict[str, int] = defaultdict(int)
    for ref in refs:
        weight = _WEIGHTS.get(ref.role, 0.5) * (0.5 if len(ref.keys) > 1 else 1.0)
        for key in ref.keys:
            members[key].score += weight
            present[key] += ref.present
    seen = [m for m in members.values() if m.score > 0]
    if not seen:
        return []
    opener = next((r.keys[0] for r in refs if r.role == SUBJECT and len(r.keys) == 1), None)
    if opener is not None:
        members[opener].score += _OPENING_BONUS
    lead = max(seen, key=lambda m: (coverage.get(m.key, 0), m.score, -m.first))
    others = [m for m in seen if m is not lead and (premise or _keeps(m, present[m.key]))]
    others.sort(key=lambda m: (-m.score, m.first))
    return [lead, *sorted(others[: MAX_CAST - 1], key=lambda m: m.first)]


def _keeps(member: Member, present: int) -> bool:
    """A full script keeps a character it shows twice, or a named one it shows once."""
    return present >= 2 or (member.named and present >= 1)


def _inherit_kind(ranked: list[Member]) -> None:
    """An unnamed relative (妈妈, his grandmother) of an animal hero is an animal of the hero's kind."""
    if not ranked:
        return
    lead = ranked[0]
    animal_lead = lead.species and SPECIES[lead.species].kind == ANIMAL and lead.kind in (ANIMAL, GROUP)
    for member in ranked[1:]:
        role = ROLES.get(member.role)
        if animal_lead and role is not None and role.kin and member.kind == PERSON and not member.named:
            member.kind, member.species = ANIMAL, lead.species


__all__ = ["Cast", "Member", "Ref", "Token", "generic_hero", "read_cast", "refs_in"]
