"""A named person's gender and age from the words around the name: the first he/she after it, and
ages written out ("小明今年八岁", "Eight-year-old Tomas", "Jun, who was six")."""

from __future__ import annotations

import re

from app.services.storyboard.rules.members import PERSON, Member

_PRONOUN = re.compile(r"(?<![A-Za-z])(he|him|his|she|her|hers)(?![A-Za-z])|[他她](?!们)", re.I)
_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_ZH_DIGITS = {ch: i for i, ch in enumerate("零一二三四五六七八九十")}
_EN_NUMBER = r"(\d{1,3}|[a-z]+)"
_ZH_NUMBER = r"([\d一二三四五六七八九十]{1,3})"


def guess_attributes(text: str, members: dict[str, Member]) -> None:
    """Fill in the gender and age of named characters where the text tells them."""
    names = sorted((n for m in members.values() for n in m.names), key=len, reverse=True)
    for member in members.values():
        if not member.named or member.kind != PERSON:
            continue
        for name in sorted(member.names, key=lambda n: (-len(n), n)):
            member.gender = member.gender or _gender_after(text, name, names)
            years = _years(text, name)
            if years and not member.years:
                member.years = years
                if member.kind == PERSON:
                    member.age = age_of(years)
        if not member.age and any(re.fullmatch(r"小[\u4e00-\u9fff]{1,2}", n) for n in member.names):
            member.age = "child"  # 小明, 小胖: a child's name


def age_of(years: int) -> str:
    return "child" if years < 18 else "adult" if years < 60 else "elder"


def _gender_after(text: str, name: str, names: list[str]) -> str:
    """The gender of the first he/she after the name, unless another name comes first."""
    at = text.find(name)
    if at < 0:
        return ""
    window = text[at + len(name):at + len(name) + 120]
    other = min((i for n in names if n != name and n not in name and (i := window.find(n)) >= 0), default=len(window))
    found = _PRONOUN.search(window, 0, other)
    if found is None:
        return ""
    word = found.group().lower()
    return "m" if word in ("he", "him", "his", "他") else "f"


def _years(text: str, name: str) -> int:
    n = re.escape(name)
    patterns = (
        rf"{n}今年{_ZH_NUMBER}岁", rf"{_ZH_NUMBER}岁的{n}", rf"{_EN_NUMBER}-year-old\s+{n}",
        rf"{n}\s+(?:was|is)\s+{_EN_NUMBER}\b(?:\s+years?\s+old)?(?!\s+[a-z]+ed)",
        rf"{n},\s+who\s+(?:was|is)\s+{_EN_NUMBER}\b",
    )
    for pattern in patterns:
        m = re.search(pattern, text, re.I)
        if m:
            value = _number(m.group(1).lower())
            if value:
                return value
    return 0


def _number(word: str) -> int:
    if word.isdigit():
        return int(word)
    if word in _NUMBERS:
        return _NUMBERS[word]
    if all(ch in _ZH_DIGITS for ch in word):
        if word.startswith("十"):
            return 10 + (_ZH_DIGITS[word[1]] if len(word) > 1 else 0)
        if len(word) == 3 and word[1] == "十":
            return _ZH_DIGITS[word[0]] * 10 + _ZH_DIGITS[word[2]]
        if len(word) == 2 and word[1] == "十":
            return _ZH_DIGITS[word[0]] * 10
        return _ZH_DIGITS[word[0]] if len(word) == 1 else 0
    return 0
