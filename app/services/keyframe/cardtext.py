"""Text helpers for the storyboard card: finding a CJK-capable font and wrapping by pixel width."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from loguru import logger
from PIL import ImageFont

Font = ImageFont.FreeTypeFont
ELLIPSIS = "…"

#: Well-known CJK font files (path with {weight} = Regular/Bold, face index in a collection).
KNOWN_CJK_FONTS: list[tuple[str, int]] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-{weight}.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-{weight}.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-{weight}.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-{weight}.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("C:/Windows/Fonts/msyh.ttc", 0),
]

_TOKENS = re.compile(r"\s+|[^\s\u2e80-\uffff]+|.")
#: Punctuation that must not start a line: it sticks to the token before it.
_NO_LINE_START = set("，。、！？；：）》」』”’〉】…,.!?;:)%")


@lru_cache(maxsize=8)
def find_cjk_font(family: str = "", bold: bool = False) -> tuple[str, int] | None:
    """(path, face index) of a font that covers Chinese: fontconfig's pick for `family`, else a known file."""
    found = _fc_match(family or "Noto Sans CJK SC", bold)
    if found:
        return found
    weight = "Bold" if bold else "Regular"
    for pattern, index in KNOWN_CJK_FONTS:
        path = pattern.format(weight=weight)
        if Path(path).is_file():
            return path, index
    return None


@lru_cache(maxsize=64)
def load_font(size: int, bold: bool = False, family: str = "") -> Font:
    """A CJK-capable font of `size` px, or Pillow's default font when none is installed."""
    size = max(size, 6)
    found = find_cjk_font(family, bold)
    if found:
        try:
            return ImageFont.truetype(found[0], size, index=found[1])
        except OSError as exc:
            logger.warning("cannot load font {}: {}", found[0], exc)
    logger.warning("no CJK font found; Chinese text on storyboard cards will not render")
    default = ImageFont.load_default(size=size)
    if not isinstance(default, ImageFont.FreeTypeFont):  # Pillow without FreeType: nothing sizes text
        raise RuntimeError("Pillow was built without FreeType; storyboard cards cannot draw text")
    return default


def wrap_text(text: str, font: Font, max_width: float, max_lines: int = 0) -> list[str]:
    """`text` broken into lines no wider than `max_width` px.

    Chinese breaks between any two characters, other scripts at spaces (a word wider than a line is
    split); with `max_lines` > 0, extra lines are dropped and the last kept one ends with '…'.
    """
    lines: list[str] = []
    for paragraph in text.splitlines():
        line = ""
        for token in _tokens(paragraph):
            if _fits(font, (line + token).rstrip(), max_width):
                line += token
                continue
            if line.strip():
                lines.append(line.rstrip())
            line = token.lstrip()
            while line and not _fits(font, line, max_width):
                head = _longest_prefix(line, font, max_width)
                lines.append(head)
                line = line[len(head) :]
        if line.strip():
            lines.append(line.rstrip())
    if max_lines and len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [_with_ellipsis(lines[max_lines - 1], font, max_width)]
    return lines


def fit_line(text: str, font: Font, max_width: float) -> str:
    """`text` on one line (whitespace collapsed), cut with '…' when wider than `max_width` px."""
    flat = " ".join(text.split())
    if _fits(font, flat, max_width):
        return flat
    return _with_ellipsis(flat, font, max_width)


def _fc_match(family: str, bold: bool) -> tuple[str, int] | None:
    if not shutil.which("fc-match"):
        return None
    pattern = f"{family}:lang=zh-cn" + (":style=Bold" if bold else "")
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}\n%{index}\n%{lang}", pattern],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.split("\n")  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) < 3 or not Path(out[0]).is_file() or "zh" not in out[2]:
        return None
    return out[0], int(out[1] or 0)


def _tokens(paragraph: str) -> list[str]:
    tokens: list[str] = []
    for token in _TOKENS.findall(paragraph):
        token = " " if token.isspace() else token
        if tokens and token[0] in _NO_LINE_START:
            tokens[-1] += token
        else:
            tokens.append(token)
    return tokens


def _fits(font: Font, text: str, max_width: float) -> bool:
    return font.getlength(text) <= max_width


def _longest_prefix(text: str, font: Font, max_width: float) -> str:
    end = 1
    while end < len(text) and _fits(font, text[: end + 1], max_width):
        end += 1
    return text[:end]


def _with_ellipsis(line: str, font: Font, max_width: float) -> str:
    line = line.rstrip()
    while line and not _fits(font, line + ELLIPSIS, max_width):
        line = line[:-1].rstrip()
    return line + ELLIPSIS
