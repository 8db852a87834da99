"""The words on a storyboard card: a few large ones, all inside the area no camera move crops and no
subtitle covers (`safearea.card_text_area`).

Top: the shot number and the camera move; under it the story's title and version, small. Bottom: the
subject's name, large, over a tag with the style and tone. The still-frame prompt is not printed (the
narration is the subtitle; the prompt is for image models). Sizes follow the frame's short side and
shrink together when the area is too short for them.
"""

from __future__ import annotations

import re

from PIL import ImageDraw

from app.models.storyboard import CAMERA_TERMS
from app.services.keyframe.base import KeyframeRequest
from app.services.keyframe.cardtext import Font, fit_line, load_font, wrap_text
from app.services.keyframe.safearea import Box, card_text_area

RGB = tuple[int, int, int]
WHITE: RGB = (255, 255, 255)
#: font sizes as shares of the frame's short side
_SHOT, _SMALL, _HEAD = 0.07, 0.03, 0.085


def camera_caption(camera: str) -> str:
    """'推镜头 · push-in' for a camera term (or its English label); other text as given."""
    term = camera.strip()
    for zh, en in CAMERA_TERMS.items():
        if term in (zh, en):
            return f"{zh} · {en}"
    return term or "固定镜头 · fixed"


def headline(subject: str) -> str:
    """The name a subject starts with, without its look: '豆豆（一只小狗…）' → '豆豆', 'Bo (a bear…)' → 'Bo'."""
    name = re.split(r"\s*[（(]", subject.strip(), maxsplit=1)[0]
    return name.strip(" ，,：:") or subject.strip()


def draw_words(draw: ImageDraw.ImageDraw, req: KeyframeRequest, accent: RGB, family: str = "") -> Box:
    """Draw the card's words inside the safe area; returns the area they were given."""
    area = card_text_area(req.width, req.height)
    s = min(req.width, req.height)
    inset = max(2, round(0.012 * s))
    box = Box(area.left + inset, area.top + inset, area.right - inset, area.bottom - inset)
    scale = _fit_scale(box, s, family)
    shot_f = load_font(round(_SHOT * s * scale), True, family)
    small = load_font(round(_SMALL * s * scale), False, family)
    y = _header(draw, req, box, shot_f, small, accent)
    title = f"《{req.story_title}》 v{req.version}" if req.story_title else f"{req.shot_id} v{req.version}"
    _shadowed(draw, (box.left, y), fit_line(title, small, box.width), small, (235, 235, 235))
    _panel(draw, req, Box(box.left, y + _line_h(small), box.right, box.bottom), s * scale, accent, family)
    return area


def _fit_scale(box: Box, s: int, family: str) -> float:
    """How much to shrink every size so the header, title and a two-line panel fit the area's height."""
    small = _line_h(load_font(round(_SMALL * s), False, family))
    needed: float = _line_h(load_font(round(_SHOT * s), True, family)) + 3 * small
    needed += 2 * _line_h(load_font(round(_HEAD * s), True, family)) + 0.06 * s
    return max(0.45, min(1.0, box.height / needed))


def _header(draw: ImageDraw.ImageDraw, req: KeyframeRequest, box: Box, shot_f: Font, small: Font, accent: RGB
            ) -> float:
    """'SHOT 03' and the camera badge, beside it when there is room, else under it; returns the next row."""
    shot = fit_line(f"SHOT {req.sequence:02d}", shot_f, box.width)
    _shadowed(draw, (box.left, box.top), shot, shot_f, WHITE)
    row = box.top + _line_h(shot_f)
    gap = small.size
    caption = camera_caption(req.camera)
    beside = box.left + draw.textlength(shot, font=shot_f) + gap
    if _badge_width(draw, caption, small) <= box.right - beside:
        _badge(draw, caption, small, accent, (box.right - _badge_width(draw, caption, small), box.top))
        return row
    fitted = fit_line(caption, small, box.width - _badge_width(draw, "", small))
    _badge(draw, fitted, small, accent, (box.left, row))
    return row + _line_h(small)


def _badge_width(draw: ImageDraw.ImageDraw, text: str, font: Font) -> float:
    return font.size * 2.6 + draw.textlength(text, font=font)


def _badge(draw: ImageDraw.ImageDraw, text: str, font: Font, accent: RGB, at: tuple[float, float]) -> None:
    """A dark pill with a small camera icon and the camera move."""
    x, top = at
    pad, height = font.size * 0.5, _line_h(font)
    draw.rounded_rectangle((x, top, x + _badge_width(draw, text, font), top + height), radius=pad, fill=(0, 0, 0, 150))
    ix, iy, u = x + pad, top + height / 2, font.size * 0.35
    draw.rectangle((ix, iy - u, ix + 2 * u, iy + u), fill=(*accent, 255))
    draw.polygon([(ix + 2 * u, iy), (ix + 3 * u, iy - u), (ix + 3 * u, iy + u)], fill=(*accent, 255))
    draw.text((x + font.size * 1.6 + pad, top), text, font=font, fill=WHITE, anchor="la")


def _panel(draw: ImageDraw.ImageDraw, req: KeyframeRequest, room: Box, size: float, accent: RGB, family: str
           ) -> None:
    """The subject's name in large letters over a style · tone tag, at the bottom of the area."""
    pad = round(0.022 * size)
    inner = room.width - 2 * pad
    head_f, tag_f = load_font(round(_HEAD * size), True, family), load_font(round(_SMALL * size), False, family)
    tag = fit_line(" · ".join(t for t in (req.style, req.tone) if t), tag_f, inner)
    lines = wrap_text(headline(req.subject), head_f, inner, max_lines=2)
    while lines and 2 * pad + len(lines) * _line_h(head_f) + (_line_h(tag_f) if tag else 0) > room.height:
        lines = lines[:-1]
    if not lines:
        return
    height = 2 * pad + len(lines) * _line_h(head_f) + (_line_h(tag_f) if tag else 0)
    y = room.bottom - height
    draw.rounded_rectangle((room.left, y, room.right, room.bottom), radius=pad, fill=(0, 0, 0, 150))
    y += pad
    for line in lines:
        draw.text((room.left + pad, y), line, font=head_f, fill=WHITE, anchor="la")
        y += _line_h(head_f)
    if tag:
        draw.text((room.left + pad, y), tag, font=tag_f, fill=accent, anchor="la")


def _shadowed(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: Font, fill: RGB) -> None:
    off = max(1, font.size // 24)
    draw.text((xy[0] + off, xy[1] + off), text, font=font, fill=(0, 0, 0, 150), anchor="la")
    draw.text(xy, text, font=font, fill=fill, anchor="la")


def _line_h(font: Font) -> int:
    """A line's height: the font's ascent plus descent (every glyph's ink fits in it)."""
    ascent, descent = font.getmetrics()
    return int(ascent + descent) + max(1, int(font.size) // 12)
