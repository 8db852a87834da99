"""Where a storyboard card may put text: the part of the still that every Ken Burns move keeps inside the
film's title-safe area and above its subtitle band, at every moment of the move.

For each move the clip can make (each camera term, both ways; zoom raised as the clip plays it), and at
progress points along it, the box's corners are mapped to the output frame; a side whose corner lands
outside is pulled in by how far it overshoots, until no corner does. The result is computed once per
frame size.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from app.services.clip.kenburns import Motion, every_move, output_point
from app.services.compose.layout import title_safe

_STEPS = 48
_PAD = 1.0  # px of slack against sampling between progress points and sub-pixel sampling


class Box(NamedTuple):
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


@lru_cache(maxsize=32)
def card_text_area(width: int, height: int) -> Box:
    """The box of a `width`×`height` still whose contents no camera move crops or puts under subtitles."""
    safe = Box(*title_safe(width, height))
    box = [safe.left, safe.top, safe.right, safe.bottom]
    moves = every_move(width, height)
    for _ in range(200):
        moved = False
        for motion in moves:
            moved |= _pull_in(box, motion, width, height, safe)
        if not moved:
            break
    return Box(*box)


def _pull_in(box: list[float], motion: Motion, width: int, height: int, safe: Box) -> bool:
    """Pull the box's sides in where a corner leaves the safe area during `motion`; whether any moved."""
    moved = False
    for step in range(_STEPS + 1):
        e = step / _STEPS
        for xi, yi in ((0, 1), (2, 1), (0, 3), (2, 3)):
            x, y = output_point(motion, width, height, e, (box[xi], box[yi]))
            scale = min(motion.zoom)
            dx = max(safe.left + _PAD - x, x - safe.right + _PAD, 0.0)
            dy = max(safe.top + _PAD - y, y - safe.bottom + _PAD, 0.0)
            if dx:
                box[xi] += (dx / scale + 0.5) * (1 if xi == 0 else -1)
                moved = True
            if dy:
                box[yi] += (dy / scale + 0.5) * (1 if yi == 1 else -1)
                moved = True
    return moved


def text_fits(box: Box, width: int, height: int) -> bool:
    """Whether every move keeps `box` (in still pixels) inside the title-safe area above the subtitles."""
    safe = Box(*title_safe(width, height))
    for motion in every_move(width, height):
        for step in range(_STEPS + 1):
            for point in ((box.left, box.top), (box.right, box.top), (box.left, box.bottom), (box.right, box.bottom)):
                x, y = output_point(motion, width, height, step / _STEPS, point)
                if not (safe.left <= x <= safe.right and safe.top <= y <= safe.bottom):
                    return False
    return True
