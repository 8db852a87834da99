"""Embedded keyframe backend: a storyboard card (an animatic frame) drawn with Pillow, no GPU.

Each card has a gradient background and a simple silhouette scene whose colours follow the style
and tone and whose shapes follow the shot's seed, the storyboard conventions for the camera move,
the shot number, the subject, the still-frame description and a footer with title and version.
"""

from __future__ import annotations

import asyncio
import colorsys
import hashlib
import math
import os
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from app.core.settings import Settings
from app.models.storyboard import CAMERA_TERMS
from app.services.backend import Readiness
from app.services.keyframe.base import KeyframeRequest
from app.services.keyframe.cardtext import Font, fit_line, load_font, wrap_text

RGB = tuple[int, int, int]
WHITE: RGB = (255, 255, 255)

#: Tone words → mood; the mood shifts the style's hue, saturation and lightness.
_MOODS: dict[str, tuple[str, ...]] = {
    "dark": ("紧张", "恐怖", "悬疑", "阴森", "神秘", "压抑", "黑暗", "危险", "tense", "dark", "horror", "myster"),
    "cool": ("宁静", "平静", "忧伤", "悲伤", "孤独", "冷", "安静", "calm", "sad", "melanchol", "serene", "lonely"),
    "warm": ("温暖", "温馨", "欢快", "喜悦", "热烈", "活泼", "幸福", "希望", "warm", "happy", "joy", "cheer", "hope"),
}
_OCTAVES = ((0.8, 1.6), (2.0, 3.5), (5.0, 8.0))
_MOOD_HSL = {"warm": (0.07, 0.62, 0.50), "cool": (0.58, 0.42, 0.42), "dark": (None, 0.35, 0.22)}


@dataclass(frozen=True)
class Palette:
    """The colours of one card."""

    top: RGB
    bottom: RGB
    accent: RGB
    far: RGB
    near: RGB


def tone_mood(tone: str) -> str:
    """'warm', 'cool', 'dark' or 'neutral' for a free-text tone (Chinese or English)."""
    lowered = tone.lower()
    for mood, words in _MOODS.items():
        if any(word in lowered for word in words):
            return mood
    return "neutral"


def palette_for(style: str, tone: str) -> Palette:
    """A deterministic palette: the style picks the hue, the tone shifts it warm, cool or dark."""
    hue = (_unit(style) + 0.1 * (_unit(tone) - 0.5)) % 1.0
    target, sat, light = _MOOD_HSL.get(tone_mood(tone), (None, 0.5, 0.4))
    if target is not None:
        hue = (hue + 0.6 * (((target - hue + 0.5) % 1.0) - 0.5)) % 1.0
    return Palette(
        top=_hls(hue, light + 0.14, sat),
        bottom=_hls(hue + 0.05, light * 0.4, sat * 0.9),
        accent=_hls(hue + 0.45, 0.68, 0.8),
        far=_hls(hue - 0.04, light * 0.75, sat * 0.7),
        near=_hls(hue + 0.02, light * 0.3, sat * 0.6),
    )


def camera_caption(camera: str) -> str:
    """'推镜头 · push-in' for a camera term (or its English label); other text as given."""
    term = camera.strip()
    for zh, en in CAMERA_TERMS.items():
        if term in (zh, en):
            return f"{zh} · {en}"
    return term or "固定镜头 · fixed"


def render_card(request: KeyframeRequest, font_family: str = "") -> Image.Image:
    """Draw the storyboard card for `request` (synchronous; see StoryboardCardRenderer)."""
    w, h = request.width, request.height
    pal = palette_for(request.style, request.tone)
    rng = random.Random(f"{request.seed}|{request.sequence}|{request.shot_id}")
    mask = Image.linear_gradient("L").resize((w, h))
    img = Image.composite(Image.new("RGB", (w, h), pal.bottom), Image.new("RGB", (w, h), pal.top), mask)
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    _draw_scene(draw, rng, pal, w, h)
    _draw_guides(draw, w, h)
    _draw_text(draw, request, pal, font_family)
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


class StoryboardCardRenderer:
    """Keyframe backend that draws an animatic storyboard card instead of a generated picture."""

    def __init__(self, settings: Settings | None = None, *, font_family: str = ""):
        self.font_family = font_family or (settings.compose.font if settings else "")

    async def ready(self) -> Readiness:
        return Readiness(ready=True, detail="draws storyboard cards with Pillow")

    async def aclose(self) -> None:
        return None

    async def render(self, request: KeyframeRequest, out_path: Path) -> None:
        """Write the card for `request` to `out_path` as a PNG (drawn in a worker thread)."""
        await asyncio.to_thread(self._render_sync, request, out_path)

    def _render_sync(self, request: KeyframeRequest, out_path: Path) -> None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.tmp")
        render_card(request, self.font_family).save(tmp, format="PNG")
        os.replace(tmp, out_path)


def create(settings: Settings) -> StoryboardCardRenderer:
    """The embedded keyframe backend; it prefers the subtitle font family for its text."""
    return StoryboardCardRenderer(settings)


def _draw_scene(draw: ImageDraw.ImageDraw, rng: random.Random, pal: Palette, w: int, h: int) -> None:
    s = min(w, h)
    cx, cy, r = rng.uniform(0.15, 0.85) * w, rng.uniform(0.18, 0.45) * h, rng.uniform(0.05, 0.11) * s
    draw.ellipse((cx - 2 * r, cy - 2 * r, cx + 2 * r, cy + 2 * r), fill=(*pal.accent, 40))
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*pal.accent, 200))
    for _ in range(rng.randint(12, 30)):
        x, y, d = rng.uniform(0, w), rng.uniform(0, 0.5 * h), rng.uniform(1, 0.004 * s + 1)
        draw.ellipse((x - d, y - d, x + d, y + d), fill=(255, 255, 255, rng.randint(60, 160)))
    city = rng.random() < 0.35
    for level, (color, alpha) in enumerate(((pal.far, 200), (pal.near, 235))):
        base = h * (0.62 + 0.12 * level)
        points = _skyline(rng, w, base, s) if city and level else _hills(rng, w, base, 0.16 * h)
        draw.polygon([(0, h), *points, (w, h)], fill=(*color, alpha))


def _hills(rng: random.Random, w: int, base: float, amp: float) -> list[tuple[float, float]]:
    octaves = [(rng.uniform(lo, hi), rng.uniform(0, math.tau), 1 / k) for k, (lo, hi) in enumerate(_OCTAVES, 1)]
    points = []
    for i in range(65):
        wave = sum(weight * math.sin(freq * math.tau * i / 64 + phase) for freq, phase, weight in octaves)
        points.append((w * i / 64, base - amp * (0.5 + 0.35 * wave)))
    return points


def _skyline(rng: random.Random, w: int, base: float, s: int) -> list[tuple[float, float]]:
    points, x = [], 0.0
    while x < w:
        top = base - rng.uniform(0.05, 0.3) * s
        width = rng.uniform(0.04, 0.11) * s
        points += [(x, top), (min(x + width, w), top)]
        x += width
    return points


def _draw_guides(draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
    """Rule-of-thirds lines, crop marks and a centre cross: the animatic look."""
    s = min(w, h)
    thin = max(1, s // 360)
    for k in (1, 2):
        draw.line((w * k / 3, 0, w * k / 3, h), fill=(255, 255, 255, 28), width=thin)
        draw.line((0, h * k / 3, w, h * k / 3), fill=(255, 255, 255, 28), width=thin)
    m, arm = 0.025 * s, 0.05 * s
    for x, y, sx, sy in ((m, m, 1, 1), (w - m, m, -1, 1), (m, h - m, 1, -1), (w - m, h - m, -1, -1)):
        draw.line((x, y, x + sx * arm, y), fill=(255, 255, 255, 170), width=2 * thin)
        draw.line((x, y, x, y + sy * arm), fill=(255, 255, 255, 170), width=2 * thin)
    c = 0.02 * s
    draw.line((w / 2 - c, h / 2, w / 2 + c, h / 2), fill=(255, 255, 255, 90), width=thin)
    draw.line((w / 2, h / 2 - c, w / 2, h / 2 + c), fill=(255, 255, 255, 90), width=thin)


def _draw_text(draw: ImageDraw.ImageDraw, req: KeyframeRequest, pal: Palette, family: str) -> None:
    w, h = req.width, req.height
    s = min(w, h)
    m, gap = round(0.06 * s), round(0.02 * s)
    big, mid = load_font(round(0.085 * s), True, family), load_font(round(0.038 * s), False, family)
    small = load_font(round(0.028 * s), False, family)
    shot = f"SHOT {req.sequence:02d}"
    baseline = m + big.getmetrics()[0]
    _shadowed(draw, (m, baseline), shot, big, WHITE)
    x = m + draw.textlength(shot, font=big) + gap
    _shadowed(draw, (x, baseline), f"镜头 {req.sequence:02d}", mid, pal.accent)
    header = baseline + big.getmetrics()[1]
    x += draw.textlength(f"镜头 {req.sequence:02d}", font=mid) + 2 * gap
    badge = _camera_badge(draw, camera_caption(req.camera), small, pal, (m, x, w - m, header + gap))
    y = max(header, badge)
    footer_y = h - m - _line_h(small)
    title = fit_line(f"《{req.story_title}》" if req.story_title else req.shot_id, small, w - 2 * m - 4 * gap)
    draw.text((m, footer_y), title, font=small, fill=(235, 235, 235, 230))
    version = f"v{req.version}"
    draw.text((w - m - draw.textlength(version, font=small), footer_y), version, font=small, fill=pal.accent)
    draw.line((m, footer_y - gap / 2, w - m, footer_y - gap / 2), fill=(255, 255, 255, 90), width=1)
    _panel(draw, req, pal, family, (m, y + gap, w - m, footer_y - gap))


def _camera_badge(draw: ImageDraw.ImageDraw, caption: str, font: Font, pal: Palette, row: tuple) -> float:
    """The camera badge, top-right if it fits beside the shot number, else under it; returns its bottom."""
    margin, after_shot, right, below = row
    pad, icon = font.size // 2, font.size * 1.6
    text, top = caption, margin
    width = icon + 2 * pad + draw.textlength(text, font=font)
    if right - width < after_shot:
        text, top = fit_line(caption, font, right - margin - icon - 2 * pad), below
        width = icon + 2 * pad + draw.textlength(text, font=font)
    x, height = (right - width if top == margin else margin), _line_h(font)
    draw.rounded_rectangle((x, top, x + width, top + height), radius=pad, fill=(0, 0, 0, 140))
    ix, iy, u = x + pad, top + height / 2, font.size * 0.35
    draw.rectangle((ix, iy - u, ix + 2 * u, iy + u), fill=(*pal.accent, 255))
    draw.polygon([(ix + 2 * u, iy), (ix + 3 * u, iy - u), (ix + 3 * u, iy + u)], fill=(*pal.accent, 255))
    draw.text((x + pad + icon, iy), text, font=font, fill=WHITE, anchor="lm")
    return top + height


def _panel(draw: ImageDraw.ImageDraw, req: KeyframeRequest, pal: Palette, family: str, box: tuple) -> None:
    """The caption panel: style/tone tag, subject heading and the wrapped still-frame description."""
    left, top, right, bottom = box
    s = min(req.width, req.height)
    pad = round(0.025 * s)
    inner = right - left - 2 * pad
    tag_f, head_f = load_font(round(0.028 * s), False, family), load_font(round(0.055 * s), True, family)
    body_f = load_font(round(0.034 * s), False, family)
    tag = fit_line(" · ".join(t for t in (req.style, req.tone) if t), tag_f, inner)
    head = wrap_text(req.subject, head_f, inner, max_lines=2)
    fixed = 2 * pad + (_line_h(tag_f) if tag else 0) + len(head) * _line_h(head_f)
    room = int((bottom - top - fixed) // _line_h(body_f))
    body = wrap_text(req.image_detail, body_f, inner, max_lines=min(max(room, 0), 7)) if room > 0 else []
    height = fixed + len(body) * _line_h(body_f)
    y = max(top, bottom - height)
    draw.rounded_rectangle((left, y, right, bottom), radius=pad, fill=(0, 0, 0, 150))
    y += pad
    blocks = (([tag] if tag else [], tag_f, pal.accent), (head, head_f, WHITE), (body, body_f, (225, 225, 225)))
    for lines, font, fill in blocks:
        for line in lines:
            if y + _line_h(font) > bottom + 1:
                return
            draw.text((left + pad, y), line, font=font, fill=fill)
            y += _line_h(font)


def _shadowed(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: Font, fill: RGB) -> None:
    off = max(1, font.size // 24)
    draw.text((xy[0] + off, xy[1] + off), text, font=font, fill=(0, 0, 0, 150), anchor="ls")
    draw.text(xy, text, font=font, fill=fill, anchor="ls")


def _line_h(font: Font) -> int:
    return round(font.size * 1.4)


def _unit(text: str) -> float:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def _hls(h: float, light: float, sat: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(h % 1.0, min(max(light, 0.0), 1.0), min(max(sat, 0.0), 1.0))
    return round(r * 255), round(g * 255), round(b * 255)
