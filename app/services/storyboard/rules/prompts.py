"""The words of a shot's prompts: the style phrase, the "first/then/finally" motion, the still frame.

`detail` carries style, lighting, a motion sentence with time words and the setting; `image_detail`
is a still frame of the same shot: style, cast looks, the motion's final state, with no time words.
"""

from __future__ import annotations

import re

from app.models.storyboard import Character
from app.services.storyboard.language.text import CJK_RE, localized, split_sentences
from app.services.storyboard.language.vocab import (
    DEFAULT_MEDIUM,
    IMAGE_TAGS,
    NEUTRAL_BEAT,
    OPENERS,
    QUALITY,
    STYLE_TABLE,
    TONE_BEATS,
)
from app.services.storyboard.language.wording import has_time_words, remove_time_words, render_character, time_word

_LIST_SEP = ("，", ", ")
_STYLE_FILLER = re.compile(r"[\s,，、/;；+&]+|风格|画风|style|and|和|与", re.I)


# --------------------------------------------------------------------------- style


def style_phrase(style: str, language: str) -> str:
    """Expand the user's style words into the phrase that opens every shot's prompts.

    Known words (温馨, 可爱, cyberpunk, watercolor…) map to descriptive fragments, a medium is
    added when none was named, and quality tags close it. Unknown words are kept verbatim
    ("<words>风格" / "<words> style"). Empty style gives a warm illustrated default.
    """
    fragments: list[str] = []
    has_medium = False
    rest = style
    for keywords, zh, en, medium in STYLE_TABLE:
        hits = [k for k in keywords if _keyword_re(k).search(style)]
        if hits:
            fragments.append(localized((zh, en), language))
            has_medium = has_medium or medium
            for k in hits:
                rest = _keyword_re(k).sub(" ", rest)
    leftover = _verbatim_style(style, rest, language)
    if leftover:
        fragments.append(leftover)
    elif not has_medium:
        fragments.append(localized(DEFAULT_MEDIUM, language))
    return localized(_LIST_SEP, language).join([*fragments, localized(QUALITY, language)])


def _keyword_re(keyword: str) -> re.Pattern[str]:
    if CJK_RE.search(keyword):
        return re.compile(re.escape(keyword))
    return re.compile(rf"(?<![a-z]){re.escape(keyword)}(?![a-z])", re.I)


def _verbatim_style(style: str, rest: str, lang: str) -> str:
    """The user's unknown style words, cleaned of time words, suffixed with 风格 / style."""
    if len(_STYLE_FILLER.sub("", rest)) < 2:
        return ""
    words = remove_time_words(" ".join(rest.split()), lang).strip(" ,，、")
    if not words:
        return ""
    if re.search(r"(风格|画风|style)$", style.strip(), re.I) and words == style.strip():
        return words
    return f"{words}风格" if lang == "zh" else f"{words} style"


def restyle(detail: str, old: str, new: str) -> str:
    """Swap the old style phrase for the new one where the detail carries it; else leave it as is."""
    return detail.replace(old, new) if old and old in detail else detail


# --------------------------------------------------------------------------- a planned shot


def motion(
    actor: str, role: str, tone: str, action: tuple[str, str, str] | None, place: str, lang: str
) -> tuple[str, str]:
    """The "first A, then B, finally C" sentence and the still-frame pose (C as a state).

    A is the role's opener (at `place`, a locative phrase), B the tone's beat, C the cue action; with
    no cue action, B is a neutral beat and C the tone's beat.
    """
    beat = TONE_BEATS[tone]
    key = action or beat
    middle = beat if action else NEUTRAL_BEAT
    opener = localized(OPENERS[role], lang).format(place=place)
    if lang == "zh":
        return f"先{actor}{opener}，然后{middle[0]}，最后{key[0]}。", f"{actor}{key[0]}"
    return f"First {actor} {opener}, then {middle[1]}, finally {key[1]}.", f"{actor} {key[2]}"


def detail_prompt(style: str, lighting: str, motion_sentence: str, setting: str, position: str, lang: str) -> str:
    """A shot's `detail`: style, lighting, the motion sentence, then the setting."""
    if lang == "zh":
        return f"{style}。{lighting}。{motion_sentence}场景：{setting}，{position}。"
    return f"{style}. {lighting}. {motion_sentence} Setting: {setting}, {position}."


def image_prompt(parts: list[str], lang: str) -> str:
    """A still-frame prompt: the non-empty parts in a list, closed by the image tags."""
    return localized(_LIST_SEP, lang).join(p for p in [*parts, localized(IMAGE_TAGS, lang)] if p)


# --------------------------------------------------------------------------- a revised shot


def derive_image_detail(detail: str, phrase: str, characters: list[Character], lang: str) -> str:
    """A still-frame prompt from a detail: style phrase, character looks, the last motion state,
    then the detail's other sentences (lighting, setting), with every time word removed."""
    body = detail.replace(phrase, " ")
    sentences = split_sentences(body)
    moving = [s for s in sentences if has_time_words(s)]
    state = _last_state(moving[-1], lang) if moving else ""
    rest = [s for s in sentences if s not in moving]
    renders = [render_character(c.name, c.look, lang) for c in characters if c.look not in body]
    parts = [remove_time_words(re.sub(r"^(场景|Setting)\s*[:：]\s*", "", p), lang) for p in [state, *rest]]
    return image_prompt([phrase, *renders, *(p.strip(" 。.，,；;") for p in parts)], lang)


def _last_state(sentence: str, lang: str) -> str:
    """The final state of a motion sentence: what precedes its first time word (who, where)
    followed by the part after 最后/finally; the whole sentence when there is no such marker."""
    marker = re.compile(r"最后|最终" if lang == "zh" else r"\b(?:finally|lastly|at last)\b", re.I)
    parts = marker.split(sentence)
    if len(parts) == 1:
        return sentence
    first = time_word(sentence)
    prefix = sentence[: first.start()] if first else ""
    return prefix + parts[-1].lstrip(" ,，")
