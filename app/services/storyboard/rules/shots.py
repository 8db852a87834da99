"""Rendering beats into planned shots, carrying place, time of day, camera and lead from shot to shot."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.models.storyboard import PlannedShot
from app.services.storyboard.language.camera import choose_camera
from app.services.storyboard.language.cues import detect_tone, find_place, find_time, key_action
from app.services.storyboard.language.text import localized
from app.services.storyboard.language.vocab import FRAMING, LIGHTING, MEDIUM_SHOT, PLACES, POSITIONS
from app.services.storyboard.language.wording import render_character
from app.services.storyboard.rules.cast import CastMember, first_mention, mentions, without_names
from app.services.storyboard.rules.grouping import Beat
from app.services.storyboard.rules.prompts import detail_prompt, image_prompt, motion

_PRONOUNS = (re.compile(r"[它他她]"), re.compile(r"\b(?:he|she|him|his|her|they|them)\b", re.I))


@dataclass
class Context:
    """What every shot of one storyboard shares, plus continuity carried shot to shot."""

    lang: str
    style: str
    cast: list[CastMember]
    looks: dict[str, str]
    place: int
    time: str | None = None
    camera: str = ""
    lead: str = ""


def build_shot(ctx: Context, beat: Beat, index: int) -> PlannedShot:
    """Render a beat into a PlannedShot, updating the context's continuity (place, time, camera, lead)."""
    lang, text = ctx.lang, beat.narration
    place = find_place(without_names(text, ctx.cast, lang), lang)
    ctx.place = ctx.place if place is None else place
    ctx.time = find_time(text, lang) or ctx.time
    tone = beat.tone or detect_tone(text, lang, "warm" if beat.role == "ending" else "calm")
    ctx.camera = camera = choose_camera(text, beat.role, index, ctx.camera, lang)
    members = _shot_cast(ctx, text)
    lead = ctx.lead = members[0].name
    setting = PLACES[ctx.place].noun(lang)
    lighting = localized(LIGHTING[ctx.time or tone], lang)
    position = localized(POSITIONS[index % len(POSITIONS)], lang)
    sentence, pose = motion(lead, beat.role, tone, key_action(text, lang), PLACES[ctx.place], lang)
    renders = [render_character(m.name, ctx.looks[m.name], lang) for m in members]
    framing = localized(FRAMING.get(camera, MEDIUM_SHOT), lang)
    still_lighting = lighting if lang == "zh" else lighting[0].lower() + lighting[1:]
    return PlannedShot(
        subject=renders[0],
        detail=detail_prompt(ctx.style, lighting, sentence, setting, position, lang),
        image_detail=image_prompt([ctx.style, *renders, pose, setting, still_lighting, framing, position], lang),
        camera=camera, narration=text, tone=tone, characters=[m.name for m in members],
    )


def _shot_cast(ctx: Context, text: str) -> list[CastMember]:
    """The cast named in a shot, in cast order. A pronoun before any name brings the previous
    shot's lead to the front; a shot naming nobody shows that lead."""
    present = [m for m in ctx.cast if mentions({m.name, *m.aliases}, text, ctx.lang)]
    previous = next((m for m in ctx.cast if m.name == ctx.lead), ctx.cast[0])
    pronoun = localized(_PRONOUNS, ctx.lang).search(text)
    first_name = min((first_mention(m, text, ctx.lang) for m in present), default=len(text))
    if pronoun and pronoun.start() < first_name:
        present = [previous, *(m for m in present if m is not previous)]
    return present or [previous]
