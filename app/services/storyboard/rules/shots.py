"""Rendering beats into planned shots: who each shot is about, where and when it happens, its camera.

A shot's subject is the character its narration is most about (acting counts twice, being acted on
once, pronouns included); `characters` lists everyone in its scene, not those only looked for or
spoken of. A shot naming nobody shows the protagonist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from app.models.storyboard import PlannedShot
from app.services.storyboard.language.camera import choose_camera
from app.services.storyboard.language.cues import detect_tone, key_action
from app.services.storyboard.language.text import localized
from app.services.storyboard.language.vocab import FRAMING, LIGHTING, MEDIUM_SHOT, POSITIONS
from app.services.storyboard.language.wording import render_character
from app.services.storyboard.rules.daytime import lighting
from app.services.storyboard.rules.grouping import Beat
from app.services.storyboard.rules.members import SUBJECT, Member, Ref
from app.services.storyboard.rules.prompts import detail_prompt, image_prompt, motion
from app.services.storyboard.rules.scene import Scene


@dataclass
class Context:
    """What every shot of one storyboard shares, plus continuity carried shot to shot."""

    lang: str
    style: str
    cast: list[Member]
    looks: dict[str, str]
    camera: str = ""
    lead: str = ""


def build_shot(ctx: Context, beat: Beat, index: int, refs: Sequence[Ref], scene: Scene) -> PlannedShot:
    """Render a beat into a PlannedShot, updating the context's continuity (camera, lead)."""
    lang, text = ctx.lang, beat.narration
    tone = beat.tone or detect_tone(text, lang, "warm" if beat.role == "ending" else "calm")
    ctx.camera = camera = choose_camera(text, beat.role, index, ctx.camera, lang)
    members = shot_members(ctx, refs)
    lead = members[0]
    ctx.lead = lead.key
    light = lighting(scene.sky, LIGHTING[tone], lang)
    position = localized(POSITIONS[index % len(POSITIONS)], lang)
    sentence, pose = motion(lead.name, beat.role, tone, key_action(text, lang), scene.place.locative(), lang)
    renders = [render_character(m.name, ctx.looks[m.key], lang) for m in members]
    framing = localized(FRAMING.get(camera, MEDIUM_SHOT), lang)
    still_light = light if lang == "zh" else light[0].lower() + light[1:]
    setting = scene.place.text()
    return PlannedShot(
        subject=renders[0],
        detail=detail_prompt(ctx.style, light, sentence, setting, position, lang),
        image_detail=image_prompt([ctx.style, *renders, pose, setting, still_light, framing, position], lang),
        camera=camera, narration=text, tone=tone, characters=[m.name for m in members],
    )


def shot_members(ctx: Context, refs: Sequence[Ref]) -> list[Member]:
    """The characters in a shot's scene, the one it is most about first; the previous lead when none."""
    by_key = {m.key: m for m in ctx.cast}
    weight: dict[str, float] = defaultdict(float)
    first: dict[str, int] = {}
    for ref in refs:
        if not ref.present:
            continue
        for key in ref.keys:
            if key in by_key:
                weight[key] += (2.0 if ref.role == SUBJECT else 1.0) / len(ref.keys)
                first.setdefault(key, ref.start)
    if not weight:
        return [ctx.cast[0]]
    keys = sorted(weight, key=lambda k: (-weight[k], first[k]))
    return [by_key[k] for k in keys]
