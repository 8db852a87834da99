"""Pure subtitle layout for a frame size: font size, outline and safe margins per aspect ratio.

16:9 keeps text inside the 5 % title-safe border. 9:16 keeps it clear of the bottom sixth and of
the sides, where short-video apps draw captions, buttons and progress bars. 1:1 sits between.
Lines are also capped at about 18 CJK characters (some 40 Latin ones) for reading speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.services.compose.text import Measure

#: ASS Fontsize (line height) as a share of the shorter side of the frame.
FONT_SHARE = 0.065
#: Longest line, in widths of a CJK character.
MAX_LINE_EMS = 18
_REFERENCE_CHAR = "字"

#: (left/right margin as a share of the width, bottom margin as a share of the height)
_MARGINS = {"landscape": (0.05, 0.06), "portrait": (0.08, 0.16), "square": (0.06, 0.08)}
#: Top of the title-safe area as a share of the height (9:16 apps draw a status bar and a header there).
_TOP = {"landscape": 0.05, "portrait": 0.08, "square": 0.06}
#: Lines a cue may take (compose.text.MAX_LINES) and the room kept above them, in font sizes.
_BAND_LINES, _BAND_PAD = 2, 0.35


@dataclass(frozen=True)
class SubtitleLayout:
    """Where and how large subtitles are drawn on a `width`×`height` frame (pixels)."""

    width: int
    height: int
    font_size: int
    outline: float
    margin_lr: int
    margin_bottom: int

    @property
    def safe_width(self) -> float:
        """Width a line's glyphs may take, outline included."""
        return self.width - 2 * self.margin_lr - 2 * self.outline


def orientation(width: int, height: int) -> str:
    """`landscape`, `portrait` or `square` (within ±25 %)."""
    ratio = width / height
    if ratio >= 1.25:
        return "landscape"
    if ratio <= 0.8:
        return "portrait"
    return "square"


def subtitle_layout(width: int, height: int) -> SubtitleLayout:
    """The layout for a frame size."""
    share_lr, share_bottom = _MARGINS[orientation(width, height)]
    font_size = max(8, round(FONT_SHARE * min(width, height)))
    return SubtitleLayout(
        width=width,
        height=height,
        font_size=font_size,
        outline=round(font_size * 0.06, 1),
        margin_lr=round(share_lr * width),
        margin_bottom=round(share_bottom * height),
    )


def subtitle_band_top(layout: SubtitleLayout) -> int:
    """The highest row a burned subtitle can reach: two lines (libass makes a line `font_size` tall)
    with their outline above the bottom margin, and a little air. Nothing else should be drawn below."""
    block = _BAND_LINES * layout.font_size + 2 * layout.outline + _BAND_PAD * layout.font_size
    return max(0, math.floor(layout.height - layout.margin_bottom - block))


def title_safe(width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the area where on-screen text is safe from the frame edge, app
    overlays and the subtitles: the subtitle side margins, a top margin, down to the subtitle band."""
    layout = subtitle_layout(width, height)
    top = round(_TOP[orientation(width, height)] * height)
    return layout.margin_lr, top, width - layout.margin_lr, subtitle_band_top(layout)


def line_width(layout: SubtitleLayout, measure: Measure) -> float:
    """Widest line, in the measure's units: the safe width, capped at MAX_LINE_EMS characters."""
    return min(layout.safe_width, MAX_LINE_EMS * measure(_REFERENCE_CHAR))
