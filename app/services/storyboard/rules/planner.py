"""The embedded storyboard planner: rule-based, deterministic, no model and no network.

A full script is narrated verbatim: its sentences are grouped, in order, into 4–12 shots (`grouping`).
A one-line premise becomes a six-shot story arc narrated from templates (`arc`). Every shot gets the
same expanded style phrase, a cast look repeated verbatim (`cast`), a camera term (`camera`), a tone,
a "first/then/finally" `detail` and a still-frame `image_detail` without time words (`prompts`, `shots`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.models.storyboard import CAMERA_TERMS, Character, PlannedShot, ShotEdit, Storyboard
from app.services.backend import Readiness
from app.services.storyboard.language.camera import resolve_camera
from app.services.storyboard.language.cues import detect_tone
from app.services.storyboard.language.text import detect_language, speech_length, split_paragraphs, split_sentences
from app.services.storyboard.language.vocab import PREMISE_MAX_UNITS, TONES
from app.services.storyboard.rules.arc import arc_beats, premise_slots, short_beats
from app.services.storyboard.rules.cast import generic_hero, read_cast
from app.services.storyboard.rules.grouping import script_beats
from app.services.storyboard.rules.looks import character_look, member_look
from app.services.storyboard.rules.mentions import mentions
from app.services.storyboard.rules.premise import with_premise_lead
from app.services.storyboard.rules.prompts import derive_image_detail, restyle, style_phrase
from app.services.storyboard.rules.segment import preload, warm_up
from app.services.storyboard.rules.staging import places_of, stage
from app.services.worker_pool import CpuWork

if TYPE_CHECKING:
    from app.core.settings import Settings

#: The planner's public names, including helpers re-exported from the modules that define them.
__all__ = [
    "TONES",
    "RuleBasedPlanner",
    "build_storyboard",
    "character_look",
    "create",
    "detect_tone",
    "resolve_camera",
    "revise",
    "style_phrase",
]


def build_storyboard(script: str, style: str, title: str = "") -> Storyboard:
    """Plan a storyboard from a premise or a full script (pure, deterministic).

    Args:
        script: a one-line premise or a full story, Chinese or English (or both).
        style: the user's style words, expanded by `style_phrase`.
        title: the display title; empty takes the script's first sentence.

    Returns:
        A storyboard of 4–12 shots in story order, with the cast.

    Raises:
        ValueError: the script is empty.
    """
    if not script.strip():
        raise ValueError("script is empty")
    lang = detect_language(script)
    paragraphs = [split_sentences(p) for p in split_paragraphs(script)]
    sentences = [s for p in paragraphs for s in p]
    beats = None
    if len(sentences) > 1 or speech_length(script) > PREMISE_MAX_UNITS:
        beats = script_beats(paragraphs, lang)
    cast = read_cast(script, lang, premise=beats is None)
    members = cast.members
    if beats is None:
        members = with_premise_lead(sentences[0], members, lang)
    members = members or [generic_hero(lang)]
    if beats is None:
        slots = premise_slots(script.strip(), members, lang, places_of(script, members, lang))
        beats = arc_beats(slots, lang) if len(sentences) == 1 else short_beats(paragraphs, slots, lang)
    looks = {m.key: member_look(m, lang) for m in members}
    shots = stage(script, beats, members, cast.refs, looks=looks, style=style_phrase(style, lang), lang=lang)
    characters = [Character(name=m.name, look=looks[m.key]) for m in members]
    return Storyboard(title=title.strip() or _derive_title(script, lang), language=lang,
                      characters=characters, shots=shots)


def _derive_title(script: str, lang: str) -> str:
    first = (split_sentences(script) or [script])[0].strip("。！？.!?；; ")
    if lang == "zh":
        return first[:20]
    return " ".join(first.split()[:12])


def revise(shot: PlannedShot, edit: ShotEdit, characters: list[Character], style: str) -> PlannedShot:
    """Merge an edit into a shot (pure) and re-derive its `image_detail`.

    Every set field replaces the stored one verbatim; `style` swaps the style phrase where the
    detail carries the old one and always leads the new `image_detail`; a camera is mapped with
    `resolve_camera`, and one that maps to nothing keeps the stored term.

    Args:
        shot: the stored shot.
        edit: the user's edit; unset fields keep the stored value.
        characters: the storyboard's cast, for the looks of those the new detail names.
        style: the storyboard's current style words.

    Returns:
        A new shot; `shot` itself is left unchanged.
    """
    updates = edit.model_dump(exclude_none=True, exclude={"style"})
    lang = detect_language(" ".join([updates.get("detail", shot.detail), updates.get("narration", shot.narration)]))
    old, new = style_phrase(style, lang), style_phrase(edit.style or style, lang)
    detail = restyle(updates.get("detail", shot.detail), old, new)
    subject = updates.get("subject", shot.subject)
    camera = resolve_camera(edit.camera) if edit.camera is not None else None
    camera = camera or (shot.camera if shot.camera in CAMERA_TERMS else "固定镜头")
    present = [c for c in characters if mentions({c.name}, f"{detail} {subject}")]
    image = derive_image_detail(detail, new, present, lang)
    return shot.model_copy(update={
        **updates, "detail": detail, "camera": camera, "image_detail": image,
        "characters": [c.name for c in present],
        # video-prompt rewrites describe the old detail; the video backends then use `detail` itself
        "prompts": shot.prompts if detail == shot.detail else {},
    })


class RuleBasedPlanner:
    """The embedded StoryboardPlanner: deterministic rules, no model, no network.

    Planning is Python work that holds the GIL for tens of milliseconds, so with `processes` it runs in a
    process of its own (which loads the word segmenter once, when it starts) instead of a thread of the
    API process."""

    def __init__(self, work: CpuWork | None = None):
        self.work = work or CpuWork(initializer=preload)
        if self.work.processes:
            self.work.start()  # the segmenter loads before the first plan
        else:
            warm_up()

    async def ready(self) -> Readiness:
        return Readiness(ready=True, detail=f"rule-based, no model, planning in {self.work.where}")

    async def aclose(self) -> None:
        self.work.close()

    async def plan(self, *, script: str, style: str, title: str) -> Storyboard:
        """Plan a storyboard off the event loop (tens of milliseconds; the first plan may wait for the
        word segmenter to load); see `build_storyboard`."""
        return await self.work.run(build_storyboard, script, style, title)

    async def revise_shot(
        self, *, shot: PlannedShot, edit: ShotEdit, characters: list[Character], style: str
    ) -> PlannedShot:
        """Merge a user's edit into a shot; see `revise`."""
        return revise(shot, edit, characters, style)


def create(settings: Settings | None = None) -> RuleBasedPlanner:
    """Factory for the `embedded` storyboard backend: its processes from EMBEDDED_PROCESSES (none without
    settings: a thread, the word segmenter loading in the background so the first plan does not wait)."""
    return RuleBasedPlanner(CpuWork.configured(settings, preload) if settings else None)
