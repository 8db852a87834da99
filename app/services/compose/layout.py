"""Pure subtitle layout for a frame size: font size, outline and safe margins per aspect ratio.

16:9 keeps text inside the 5 % title-safe border. 9:16 keeps it clear of the bottom sixth and of
the sides, where short-video apps draw captions, buttons and progress bars. 1:1 sits between.
Lines are also capped at about 18 CJK characters (some 40 Latin ones) for reading speed.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.services.compose.text import Measure

#: ASS Fontsize (line height) as a share of the shorter side of the frame.
FONT_SHARE = 0.065
#: Longest line, in widths of a CJK character.
MAX_LINE_EMS = 18
_REFERENCE_CHAR = "字"

#: (left/right margin as a share of the width, bottom margin as a share of the height)
_MARGINS = {"landscape": (0.05, 0.06), "portrait": (0.08, 0.16), "square": (0.06, 0.08)}


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


def line_width(layout: SubtitleLayout, measure: Measure) -> float:
    """Widest line, in the measure's units: the safe width, capped at MAX_LINE_EMS characters."""
    return min(layout.safe_width, MAX_LINE_EMS * measure(_REFERENCE_CHAR))
