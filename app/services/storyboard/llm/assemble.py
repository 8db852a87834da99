"""From a validated LLM reply to our models, with the consistency the prompt asks for made certain.

The model is asked to open every shot with one style phrase, to repeat each character's look in every
picture that shows them, and to keep time words out of `image_detail`; these functions repair a reply
that slips on any of that instead of spending another model call on it.
"""

from __future__ import annotations

from app.models.storyboard import CAMERA_TERMS, Character, PlannedShot, ShotEdit, Storyboard
from app.services.storyboard.language.camera import resolve_camera
from app.services.storyboard.language.wording import remove_time_words, render_character
from app.services.storyboard.llm.reply import ReplyShot, RevisionReply, StoryboardReply

_SEP = {"zh": "，", "en": ", "}
_TRIM = " ,，.。;；:："


def to_storyboard(reply: StoryboardReply, *, title: str, language: str) -> Storyboard:
    """Our storyboard from a planning reply: bible looks in every picture, one style phrase, no time words."""
    bible = [Character(name=c.name, look=c.look) for c in reply.characters]
    shots = [_planned(shot, bible, reply.style_phrase, language) for shot in reply.shots]
    return Storyboard(title=title.strip() or reply.title, language=language, characters=bible, shots=shots)


def _planned(shot: ReplyShot, bible: list[Character], phrase: str, lang: str) -> PlannedShot:
    names = cast_of(shot.characters, f"{shot.subject} {shot.detail} {shot.image_detail}", bible)
    return PlannedShot(
        subject=shot.subject,
        detail=with_prefix(shot.detail, phrase, lang),
        image_detail=still_frame(shot.image_detail, phrase, names, bible, lang),
        camera=shot.camera,
        narration=shot.narration,
        tone=shot.tone,
        characters=names,
        prompts=video_prompts(shot.video_prompt_en, shot.video_prompt_zh),
    )


def cast_of(listed: list[str], text: str, bible: list[Character]) -> list[str]:
    """The bible names a shot shows: those it lists plus those its text names, in bible order.

    With no bible (an upstream-shaped reply) the listed names are kept as they are.
    """
    if not bible:
        return listed
    return [c.name for c in bible if c.name in listed or c.name in text]


def still_frame(image: str, phrase: str, names: list[str], bible: list[Character], lang: str) -> str:
    """A clean `image_detail`: time words removed, the style phrase first, then "Name (look)" for each
    shown character whose look the text does not already repeat verbatim, then the rest."""
    image = remove_time_words(image, lang)
    missing = [render_character(c.name, c.look, lang) for c in bible if c.name in names and c.look not in image]
    if not missing:
        return with_prefix(image, phrase, lang)
    body = image.replace(phrase, "", 1) if phrase else image
    parts = [p.strip(_TRIM) for p in (phrase, *missing, body)]
    return _SEP[lang].join(p for p in parts if p)


def with_prefix(text: str, phrase: str, lang: str) -> str:
    """`text` opened by the style phrase (kept as is when it already carries the phrase)."""
    if not phrase or phrase in text:
        return text
    return f"{phrase.rstrip(_TRIM)}{_SEP[lang]}{text.lstrip(_TRIM)}"


def video_prompts(en: str, zh: str) -> dict[str, str]:
    """The provider rewrites by language, without empty ones."""
    return {lang: text for lang, text in (("en", en), ("zh", zh)) if text}


# --------------------------------------------------------------------------- regenerate


#: edits that change the picture or the motion; a narration-only edit needs no model call
PICTURE_FIELDS = ("detail", "subject", "style", "camera", "tone")


def needs_new_picture(edit: ShotEdit) -> bool:
    """Whether an edit changes what the keyframe or clip prompts must say."""
    return any(getattr(edit, field) is not None for field in PICTURE_FIELDS)


def merge_edit(shot: PlannedShot, edit: ShotEdit) -> PlannedShot:
    """The shot with the edit's fields taken verbatim (the user's `detail` above all); a camera wish is
    mapped onto the 12 terms, and one that maps to nothing keeps the stored camera."""
    updates = edit.model_dump(exclude_none=True, exclude={"style", "camera"})
    camera = resolve_camera(edit.camera) if edit.camera is not None else None
    stored = shot.camera if shot.camera in CAMERA_TERMS else "固定镜头"
    return shot.model_copy(update={**updates, "camera": camera or stored})


def apply_revision(shot: PlannedShot, revision: RevisionReply, bible: list[Character], lang: str) -> PlannedShot:
    """The merged shot with the model's new picture prompts; `detail` is left exactly as it is."""
    names = cast_of(revision.characters, f"{shot.subject} {shot.detail} {revision.image_detail}", bible)
    return shot.model_copy(update={
        "image_detail": still_frame(revision.image_detail, "", names, bible, lang),
        "characters": names,
        "prompts": video_prompts(revision.video_prompt_en, revision.video_prompt_zh),
    })
