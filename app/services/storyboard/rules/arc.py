"""A one-line premise, or a very short script, told as a story arc from templates.

The arc stays where the premise is (a second place it names is where the journey goes) and says
nothing about the hour, so the premise's own time and weather light every shot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.services.storyboard.language.text import localized, pick
from app.services.storyboard.language.vocab import MAX_UNITS
from app.services.storyboard.rules.grouping import Beat, pieces_of
from app.services.storyboard.rules.members import GROUP, Member
from app.services.storyboard.rules.mentions import mentions, text_after
from app.services.storyboard.rules.places import DEFAULT_PLACES, EN_PLACES
from app.services.storyboard.rules.setting import Place, PlaceMention, default_place

_ZH_SEEK = re.compile(r"^(寻找|找|去|回|救|帮|学|追|送|保护)")
_EN_SEEK = re.compile(r"^(?:looks? for|search(?:es)? for|wants? to find|tries to find|goes? to find)\s+(.+)$")
#: (role, tone, zh template, en template); {p} protagonist, {at}/{across}/{to} places, {goal}, {helper};
#: English verbs take {s} ("lives", or "live" for a group).
ARC = (
    ("opening", "calm", "从前，在{at}，住着{p}。", "{P} live{s} {at}."),
    ("middle", "excited", "有一天，{p}{goal}。", "One day, {p} {goal}."),
    ("middle", "excited", "{p}{journey}，一步一步向前走，心里满怀期待。",
     "{P} set{s} off {journey_en}, step by step, full of hope."),
    ("middle", "tense", "可是路越来越难走，{p}有些害怕。", "But the way grows hard, and {p} feel{s} afraid."),
    ("middle", "warm", "就在这时，{helper}出现了，带来了新的希望。",
     "Just then, {helper} appears and brings new hope."),
    ("ending", "warm", "{ending}", "{ending}"),
)
_OPENING, _JOURNEY, _ENDING = 0, 2, 5
_WHOLE_ARC = range(len(ARC))


@dataclass
class ArcSlots:
    """Template slots for the premise arc."""

    p: str
    goal: str
    helper: str
    ending: str
    place: Place
    place2: Place | None
    plural: bool = False


def premise_slots(premise: str, cast: list[Member], lang: str, places: Sequence[PlaceMention]) -> ArcSlots:
    """Fill the arc's slots from a premise: its lead, what the lead does (goal), places, a helper."""
    lead = cast[0]
    after = _without_leading_place(text_after(premise, lead), lang)
    staying = [m.place for m in places if not m.leaving]
    place = staying[0] if staying else default_place(pick(DEFAULT_PLACES, premise), lang)
    place2 = next((p for p in staying[1:] if p.noun != place.noun), None)
    helper = cast[1].name if len(cast) > 1 and not mentions({cast[1].name, *cast[1].forms}, after) else ""
    goal, ending = (_zh_goal if lang == "zh" else _en_goal)(after, lead.name)
    helper = helper or localized(("一位善良的朋友", "a kind friend"), lang)
    return ArcSlots(lead.name, goal, helper, ending, place, place2, lead.kind == GROUP)


def _without_leading_place(after: str, lang: str) -> str:
    """'of a mountain village build a kite' → 'build a kite' (the lead's own place is no goal)."""
    if lang == "zh" or not re.match(r"(?:of|from|in|at|on)\b", after):
        return after
    for m in re.finditer(r"[A-Za-z]+(?:\s+[A-Za-z]+)?", after):
        for noun in (m.group().lower(), m.group().split()[-1].lower()):
            if noun in EN_PLACES:
                return after[m.end():].strip()
    return after


def _zh_goal(after: str, lead: str) -> tuple[str, str]:
    """(goal predicate, ending sentence) for a Chinese premise; 找妈妈 ends with 找到了妈妈."""
    goal = re.sub(r"(的)?(故事|童话|冒险|传说|旅程)$", "", after).strip("，。！？,.!? ")
    seek = _ZH_SEEK.match(goal)
    target = goal[seek.end():] if seek else ""
    if seek and target and seek.group(1) in ("找", "寻找"):
        ending = f"最后，{lead}终于找到了{target}，心里暖暖的。"
    else:
        ending = f"最后，{lead}终于如愿以偿，脸上露出了幸福的笑容。"
    if seek:
        return f"下定决心，要{goal}", ending
    return (goal if goal and not goal.startswith("的") else "踏上了一段奇妙的旅程"), ending


def _en_goal(after: str, lead: str) -> tuple[str, str]:
    """(goal predicate, ending sentence) for an English premise."""
    goal = after.strip(" ,.!?") or "sets out on an unexpected adventure"
    seek = _EN_SEEK.match(goal)
    if seek:
        return goal, f"At last, {lead} finds {seek.group(1)}, and everything feels warm again."
    return goal, f"In the end, {lead} smiles, and everything feels warm and right again."


def arc_beats(slots: ArcSlots, lang: str, steps: Sequence[int] = _WHOLE_ARC) -> list[Beat]:
    """The arc's beats (all six, or the given steps) with their slots filled."""
    journey = (f"一路来到{slots.place2.locative()}" if slots.place2 else f"穿过{slots.place.text()}")
    journey_en = f"for {slots.place2.text()}" if slots.place2 else f"across {slots.place.text()}"
    values = {
        "p": slots.p, "P": slots.p[:1].upper() + slots.p[1:], "goal": slots.goal, "helper": slots.helper,
        "ending": slots.ending, "at": slots.place.locative(), "journey": journey, "journey_en": journey_en,
        "s": "" if slots.plural else "s",
    }
    beats = []
    for i in steps:
        role, tone, zh, en = ARC[i]
        beats.append(Beat(localized((zh, en), lang).format(**values), role, tone))
    return beats


def short_beats(paragraphs: list[list[str]], slots: ArcSlots, lang: str) -> list[Beat]:
    """A short script narrated verbatim between the arc's opening and ending (4–5 shots)."""
    pieces, _starts = pieces_of(paragraphs, MAX_UNITS)
    middle = [Beat(p, "middle") for p in pieces]
    journey = arc_beats(slots, lang, [_JOURNEY]) if len(middle) < 2 else []
    return [*arc_beats(slots, lang, [_OPENING]), *middle, *journey, *arc_beats(slots, lang, [_ENDING])]
