"""How both planners write shared things into prompts: a character with its look, time words."""

from __future__ import annotations

import re

_ZH_TIME = re.compile(r"紧接着|首先|先是|然后|接着|随后|之后|最后|最终|后来|先(?![生前辈祖人])")
_EN_TIME = re.compile(
    r"\b(?:at first|first(?:ly)?|and then|then|next(?!\s+to\b)|finally|afterwards|after that|"
    r"eventually|lastly|at last|later)\b,?\s*",
    re.I,
)


def render_character(name: str, look: str, language: str) -> str:
    """How a character appears in prompts: its name followed by its look in brackets."""
    return f"{name}（{look}）" if language == "zh" else f"{name} ({look})"


def time_word(text: str) -> re.Match[str] | None:
    """The first sequencing word in text, if any."""
    return _ZH_TIME.search(text) or _EN_TIME.search(text)


def has_time_words(text: str) -> bool:
    """Whether text contains a sequencing word (先/然后/最后/接着, first/then/finally/next)."""
    return bool(time_word(text))


def remove_time_words(text: str, language: str) -> str:
    """Drop sequencing words, then tidy the punctuation left behind."""
    text = _EN_TIME.sub("", _ZH_TIME.sub("", text))
    text = re.sub(r"([，,、])\s*[，,、]+", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text)
    return text.strip(" ，,、;；") if language == "zh" else text.strip(" ,;")
