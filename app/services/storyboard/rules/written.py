"""Looks the script writes for a character: what it wears (穿着红色雨衣, wearing a red scarf), its
colouring (火红的毛, honey-coloured fur, 小花猫, a black cat), features (胡子花白, one squeaky wheel)
and build (胖胖的老奶奶). They win over generated looks, slot by slot."""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.services.storyboard.rules.clauses import Layout
from app.services.storyboard.rules.members import OBJECT, POSSESSIVE, SUBJECT, Member, Ref
from app.services.storyboard.rules.species import BODIES, COLOURS, SPECIES

WEAR, COAT, FEATURE, BUILD, SIZE = "wear", "coat", "feature", "build", "size"

_ZH_WEAR = re.compile(r"(穿着|穿上了?|戴着|戴上了?|系着|披着|背着|裹着|扎着|留着)(?:一[件顶条双个副把块])?"
                      r"([^，。！？；、“”「」\s]{1,9})")
_ZH_GIVEN = re.compile(r"给(?:它|他|她)?(戴上|穿上|系上|围上|披上)了?(?:一[件顶条双个副把块])?([^，。！？；、\s]{1,8})")
_ZH_COAT = re.compile(r"(?:一身|浑身)?([^\s，。、的]{0,3}[红橙黄绿青蓝紫白黑灰棕褐金银粉彩花][^\s，。、的]{0,2})的"
                      r"(毛|毛发|皮毛|羽毛|绒毛|鳞片|外壳)")
_ZH_FEATURE = re.compile(
    r"(尾巴|眼睛|耳朵|胡子|头发|鼻子|翅膀)((?:又|是|闪着|长长|短短|大大|圆圆)[^，。！？；]{1,7}|花白|雪白)")
_ZH_PREFIX = re.compile(r"((?:戴着?|穿着?|扎着?|留着?|系着?)[^，。的\s]{1,6})的$"
                        r"|(胖胖|瘦瘦|高高|矮矮|圆滚滚|毛茸茸|胖乎乎|瘦小|高大)的$")
_ZH_COLOUR_CHARS = {"红": "red", "黄": "golden", "白": "white", "黑": "black", "灰": "grey", "棕": "light_brown",
                    "褐": "dark_brown", "金": "golden", "银": "silver", "绿": "green", "蓝": "blue", "粉": "pink",
                    "橘": "ginger", "花": "tabby"}
_GARMENTS = ("coat|scarf|hat|raincoat|dress|jacket|sweater|jumper|boots|cap|cloak|cape|apron|glasses|uniform|suit|"
             "overalls|shirt|hoodie|helmet|bow tie|collar|ribbon|backpack|bell|necklace|crown|gloves|mittens")
_EN_WEAR = re.compile(rf"\b(?:wearing|wore|wears|in)\s+((?:a|an|his|her|their|its)\s+)?((?:[a-z-]+\s+){{0,3}}"
                      rf"(?:{_GARMENTS}))\b")
_EN_WITH = re.compile(rf"\bwith\s+((?:a|an|one|two)\s+)((?:[a-z-]+\s+){{0,3}}(?:{_GARMENTS}|wheel|tail|scars|"
                      r"eyes|beard|ears|spots|stripes|horn|wings|mane|patch|whiskers)(?:\s+across\s+(?:his|her|its)"
                      r"\s+[a-z]+)?)\b")
_EN_COAT = re.compile(r"\b((?:[a-z]+-colou?red|white|black|brown|golden|grey|gray|red|ginger|silver|spotted|"
                      r"striped|shaggy|fluffy|soft)\s+(?:fur|feathers|wool|scales|coat))\b")
_EN_COLOURS = {"white": "white", "black": "black", "brown": "light_brown", "golden": "golden", "grey": "grey",
               "gray": "grey", "red": "red", "green": "green", "blue": "blue", "yellow": "yellow", "orange": "orange",
               "pink": "pink", "silver": "silver", "ginger": "ginger"}
_EN_SIZES = {"little": "little", "small": "little", "tiny": "tiny", "baby": "little", "young": "young",
             "big": "big", "huge": "huge", "giant": "giant"}
_EN_BUILD = frozenset({"shaggy", "fluffy", "scruffy", "fat", "skinny", "chubby", "tall", "plump"})


def find_written_looks(text: str, members: dict[str, Member], refs: Sequence[Ref], layout: Layout) -> None:
    """Fill `member.written` from the script: phrases in sentences the member leads, and the words
    before the noun that names it."""
    for member in members.values():
        for start, end in _topic_sentences(member.key, refs, layout, text):
            _from_sentence(text[start:end], member)
        _from_label(text, member)
    for m in _ZH_GIVEN.finditer(text):
        ref = next((r for r in refs if m.start() < r.start < m.start() + 4 and len(r.keys) == 1), None)
        if ref is not None:
            members[ref.keys[0]].written.setdefault(WEAR, f"戴着{m.group(2)}" if "戴" in m.group(1) else
                                                    f"{m.group(1)[0]}着{m.group(2)}")


def _topic_sentences(key: str, refs: Sequence[Ref], layout: Layout, text: str) -> list[tuple[int, int]]:
    """Stretches from a reference to the character that leads its clause to the end of its sentence."""
    spans = []
    for ref in refs:
        if ref.keys == (key,) and ref.role in (SUBJECT, POSSESSIVE, OBJECT) and layout.clause_start(ref.start) >= (
                max((r.end for r in refs if r.start < ref.start), default=0)):
            start = layout.clause_start(ref.start) if layout.sentence(ref.start) else 0
            end = _sentence_end(text, ref.end)
            spans.append((start, end))
    return spans


def _sentence_end(text: str, pos: int) -> int:
    m = re.compile(r"[。！？!?]|\.(?=\s|$)").search(text, pos)
    return m.end() if m else len(text)


def _from_sentence(sentence: str, member: Member) -> None:
    written = member.written
    for m in _ZH_WEAR.finditer(sentence):
        verb = m.group(1)[0]
        written.setdefault(WEAR, f"{verb}着{_trim_zh(m.group(2))}")
    for m in _EN_WEAR.finditer(sentence):
        written.setdefault(WEAR, f"{(m.group(1) or 'a ').strip()} {m.group(2)}".strip())
    for m in _EN_WITH.finditer(sentence):
        phrase = m.group(2)
        slot = WEAR if re.search(rf"\b(?:{_GARMENTS})\b", phrase) else FEATURE
        written.setdefault(slot, f"{m.group(1) or ''}{phrase}".strip())
    coat = _ZH_COAT.search(sentence)
    if coat:
        written.setdefault(COAT, coat.group(1) + "的" + ("毛发" if coat.group(2) == "毛" else coat.group(2)))
    en_coat = _EN_COAT.search(sentence)
    if en_coat:
        written.setdefault(COAT, en_coat.group(1))
    feature = _ZH_FEATURE.search(sentence)
    if feature:
        written.setdefault(FEATURE, feature.group(1) + feature.group(2))
    _scarf_from_had(sentence, written)


def _scarf_from_had(sentence: str, written: dict[str, str]) -> None:
    """'Bo had honey-coloured fur and a red scarf that his grandmother had knitted': garments it has."""
    m = re.search(r"\b(?:had|has)\s+([^.;!?]{3,80})", sentence)
    if m is None:
        return
    for item in re.split(r",\s*|\s+and\s+", m.group(1)):
        item = re.split(r"\s+(?:that|which|who)\s+", item)[0].strip()
        if re.search(rf"\b(?:{_GARMENTS})\b", item):
            written.setdefault(WEAR, item)


def _trim_zh(phrase: str) -> str:
    """Cut a worn thing at the next verb-like word: 白色的宇航服走出舱门 → 白色的宇航服."""
    return re.split(r"(?:走|跑|来|去|坐|站|在|和|，|正|就|朝|向)", phrase, maxsplit=1)[0] or phrase


def _from_label(text: str, member: Member) -> None:
    """Colour and build words just before the noun naming the character (小花猫, 胖胖的老奶奶, a black cat)."""
    for form in sorted(member.forms - member.names, key=lambda f: (-len(f), f)):
        at = text.find(form)
        if at < 0:
            continue
        if re.match(r"[\u4e00-\u9fff]", form):
            _zh_label(text[max(0, at - 10):at], form, member)
        else:
            _en_label(text[max(0, at - 40):at], member)


def _zh_label(before: str, form: str, member: Member) -> None:
    prefix = _ZH_PREFIX.search(before)
    if prefix and prefix.group(1):
        member.written.setdefault(WEAR, prefix.group(1))
    elif prefix and prefix.group(2):
        member.written.setdefault(BUILD, prefix.group(2) + "的")
    colour_chars = form[:-1] if member.species else ""
    colour = next((_ZH_COLOUR_CHARS[ch] for ch in colour_chars if ch in _ZH_COLOUR_CHARS), "")
    if colour and member.species and COAT not in member.written:
        body = BODIES[SPECIES[member.species].body][0]
        member.written[COAT] = f"{_fit_colour(colour, member)[0]}的{body}"


def _en_label(before: str, member: Member) -> None:
    words = re.findall(r"[a-z-]+", before.lower())[-3:]
    for word in words:
        if word in _EN_COLOURS and member.species and COAT not in member.written:
            body = BODIES[SPECIES[member.species].body][1]
            member.written[COAT] = f"{_fit_colour(_EN_COLOURS[word], member)[1]} {body}"
        elif word in _EN_BUILD:
            member.written.setdefault(BUILD, word)
        elif word in _EN_SIZES:
            member.written.setdefault(SIZE, _EN_SIZES[word])


def _fit_colour(colour: str, member: Member) -> tuple[str, str]:
    if colour == "red" and member.species == "fox":
        colour = "fox_red"
    if colour == "tabby" and member.species not in ("cat",):
        colour = "spotted"
    return COLOURS[colour]
