"""The subtitle font on disk, and a Measure of text width as libass draws it in that font.

libass sizes a font so that its ascent plus descent equals the ASS `Fontsize`; Pillow sizes it by
the em. Measuring with Pillow at the em that libass will use gives the rendered width, so lines are
broken by how wide they really are on screen (CJK and Latin alike).
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

from loguru import logger
from PIL import ImageFont

from app.services.compose.text import Measure, width

_REFERENCE_SIZE = 200
#: Without the font, a line unit is taken as 1/6 em: CJK 7/6 em, Latin 1/2 em (on the safe side).
_UNITS_PER_EM = 6


@lru_cache(maxsize=16)
def font_file(family: str) -> tuple[str, int] | None:
    """The file and face index fontconfig has for `family` (as libass will use it), or None.

    None also when fontconfig would substitute another family: libass then falls back glyph by
    glyph, which one font file cannot predict.
    """
    if not shutil.which("fc-match"):
        return None
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{family}\n%{file}\n%{index}", family],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
        families, path, index = out.split("\n")[:3]
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    known = {name.strip().casefold() for name in families.split(",")}
    return (path, int(index or 0)) if path and family.strip().casefold() in known else None


class FontMeasure:
    """Rendered width in pixels of text in a font at an ASS `Fontsize` (per-character advances)."""

    def __init__(self, path: str, index: int, font_size: float):
        self._font = ImageFont.truetype(path, _REFERENCE_SIZE, index=index)
        ascent, descent = self._font.getmetrics()
        self._scale = font_size / (ascent + descent)
        self._widths: dict[str, float] = {}

    def __call__(self, text: str) -> float:
        return sum(self._char(char) for char in text)

    def _char(self, char: str) -> float:
        found = self._widths.get(char)
        if found is None:
            found = self._widths[char] = self._font.getlength(char) * self._scale
        return found


@lru_cache(maxsize=16)
def subtitle_measure(family: str, font_size: float) -> Measure:
    """A Measure for `family` at ASS `font_size`; estimated from character classes without the font."""
    found = font_file(family)
    if found is not None:
        try:
            return FontMeasure(found[0], found[1], font_size)
        except OSError as exc:
            logger.warning("cannot open subtitle font {}: {}", found[0], exc)
    logger.warning("subtitle font {!r} not found; estimating line widths", family)
    em = font_size * 0.7
    return lambda text: width(text) * em / _UNITS_PER_EM
