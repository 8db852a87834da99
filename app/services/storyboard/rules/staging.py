"""Staging a storyboard: each beat's stretch of the script, its characters, place and sky, then its shot.

Beats narrated verbatim are found in the script, so they use the references read over the whole story
(pronouns resolved across shots); templated beats (a premise's arc) are read on their own, with the
premise's own time and weather lighting them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.models.storyboard import PlannedShot
from app.services.storyboard.language.text import CJK_RE, pick, strip_space
from app.services.storyboard.rules.cast import refs_in
from app.services.storyboard.rules.daytime import TIMES, Cue, Sky, find_cues
from app.services.storyboard.rules.grouping import Beat
from app.services.storyboard.rules.members import Member, Ref
from app.services.storyboard.rules.places import DEFAULT_PLACES
from app.services.storyboard.rules.scene import Ahead, SceneTracker
from app.services.storyboard.rules.segment import Token, tokens
from app.services.storyboard.rules.setting import PlaceMention, default_place, find_places
from app.services.storyboard.rules.shots import Context, build_shot

Span = tuple[int, int]


def stage(script: str, beats: Sequence[Beat], members: list[Member], refs: Sequence[Ref], *,
          looks: dict[str, str], style: str, lang: str) -> list[PlannedShot]:
    """The shots of `beats` in order, each about its own characters, place and time."""
    spans = locate(script, [b.narration for b in beats])
    templated = any(span is None for span in spans)
    places = find_places(script, lang, _tokens(script), _blanks(refs))
    staying = [m.place for m in places if not m.leaving]
    first_place = staying[0] if staying else default_place(pick(DEFAULT_PLACES, script), lang)
    tracker = SceneTracker(first_place, _premise_sky(script) if templated else None)
    ctx = Context(lang, style, members, looks, lead=members[0].key)
    all_cues = find_cues(script)
    paragraphs = _paragraph_spans(script)
    shots = []
    for index, (beat, span) in enumerate(zip(beats, spans, strict=True)):
        ahead = None
        if span is None:
            beat_refs = refs_in(beat.narration, members)
            beat_places = places_of(beat.narration, members, lang, beat_refs)
            cues = find_cues(beat.narration)
        else:
            beat_refs = [r for r in refs if span[0] <= r.start < span[1]]
            beat_places = [m for m in places if span[0] <= m.start < span[1]]
            cues = [c for c in all_cues if span[0] <= c.start < span[1]]
            ahead = _ahead(span, paragraphs, places, all_cues)
        scene = tracker.shot(beat_places, cues, ahead)
        shots.append(build_shot(ctx, beat, index, beat_refs, scene))
    return shots


def _paragraph_spans(script: str) -> list[Span]:
    bounds = [0, *(m.end() for m in re.finditer(r"\n\s*\n", script)), len(script)]
    return list(zip(bounds, bounds[1:], strict=False))


def _ahead(span: Span, paragraphs: Sequence[Span], places: Sequence[PlaceMention], cues: Sequence[Cue]) -> Ahead:
    """What the rest of the shot's paragraph says of place and time, when it said nothing before the shot."""
    start, end = next((p for p in paragraphs if p[0] <= span[0] < p[1]), (span[0], span[1]))
    said_place = any(start <= m.start < span[0] for m in places)
    said_time = any(start <= c.start < span[0] and c.event in TIMES for c in cues)
    return Ahead([] if said_place else [m for m in places if span[1] <= m.start < end],
                 [] if said_time else [c for c in cues if span[1] <= c.start < end])


def places_of(text: str, members: list[Member], lang: str, refs: Sequence[Ref] | None = None) -> list[PlaceMention]:
    """The places a text of its own names, outside its characters' words."""
    found = refs if refs is not None else refs_in(text, members)
    return find_places(text, lang, _tokens(text), _blanks(found))


def locate(script: str, narrations: Sequence[str]) -> list[Span | None]:
    """Where each narration stands in the script, in order (None for one the script does not hold)."""
    where = [i for i, ch in enumerate(script) if not ch.isspace()]
    squashed = "".join(script[i] for i in where)
    cursor = 0
    spans: list[Span | None] = []
    for narration in narrations:
        needle = strip_space(narration)
        found = squashed.find(needle, cursor) if needle else -1
        if found < 0:
            spans.append(None)
            continue
        spans.append((where[found], where[found + len(needle) - 1] + 1))
        cursor = found + len(needle)
    return spans


def _premise_sky(script: str) -> Sky:
    sky = Sky()
    for cue in find_cues(script):
        sky.apply(cue)
    return sky


def _blanks(refs: Sequence[Ref]) -> list[Span]:
    return [(r.start, r.end) for r in refs if not r.pronoun]


def _tokens(text: str) -> list[Token]:
    return tokens(text) if CJK_RE.search(text) else []
