"""Embedded keyframe backend: a storyboard card (an animatic frame) drawn with Pillow, no GPU.

Each card has a gradient background and a simple silhouette scene whose colours follow the style
and tone and whose shapes follow the shot's seed, storyboard guides, and a few large words (the shot
number, the camera move, the subject's name; `cardface`) placed where no Ken Burns move crops them and
no burned subtitle covers them.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import os
import random
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from app.core.settings import Settings
from app.services.backend import Readiness
from app.services.keyframe.base import KeyframeRequest
from app.services.keyframe.cardface import camera_caption, draw_words
from app.services.worker_pool import CpuWork

RGB = tuple[int, int, int]

__all__ = ["Palette", "StoryboardCardRenderer", "camera_caption", "card_words", "create", "palette_for", "render_card",
           "sky_mood", "tone_mood"]

#: Tone words → mood; the mood shifts the style's hue, saturation and lightness.
_MOODS: dict[str, tuple[str, ...]] = {
    "dark": ("紧张", "恐怖", "悬疑", "阴森", "神秘", "压抑", "黑暗", "危险", "tense", "dark", "horror", "myster"),
    "cool": ("宁静", "平静", "忧伤", "悲伤", "孤独", "冷", "安静", "calm", "sad", "melanchol", "serene", "lonely"),
    "warm": ("温暖", "温馨", "欢快", "喜悦", "热烈", "活泼", "幸福", "希望", "warm", "happy", "joy", "cheer", "hope"),
}
_OCTAVES = ((0.8, 1.6), (2.0, 3.5), (5.0, 8.0))
#: the hour a still-frame prompt shows → a mood word for its palette
_SKIES = (("dark", re.compile(r"夜|月光|night|moonlight", re.I)),
          ("warm", re.compile(r"夕阳|傍晚|黄昏|sunset|evening", re.I)),
          ("calm", re.compile(r"晨|morning|dawn", re.I)))
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


def render_card(request: KeyframeRequest, font_family: str = "") -> Image.Image:
    """Draw the storyboard card for `request` (synchronous; see StoryboardCardRenderer)."""
    w, h = request.width, request.height
    rng = random.Random(f"{request.seed}|{request.sequence}|{request.shot_id}")
    pal = _varied(palette_for(request.style, f"{request.tone} {sky_mood(request.image_detail)}".strip()), rng)
    mask = Image.linear_gradient("L").resize((w, h))
    img = Image.composite(Image.new("RGB", (w, h), pal.bottom), Image.new("RGB", (w, h), pal.top), mask)
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    _draw_scene(draw, rng, pal, w, h)
    _draw_guides(draw, w, h)
    img = Image.alpha_composite(img.convert("RGBA"), layer)
    return Image.alpha_composite(img, card_words(request, font_family)).convert("RGB")


def card_words(request: KeyframeRequest, font_family: str = "") -> Image.Image:
    """The card's words (and their panels) alone, on a transparent layer of the card's size."""
    layer = Image.new("RGBA", (request.width, request.height), (0, 0, 0, 0))
    draw_words(ImageDraw.Draw(layer), request, palette_for(request.style, request.tone).accent, font_family)
    return layer


class StoryboardCardRenderer:
    """Keyframe backend that draws an animatic storyboard card instead of a generated picture.

    Drawing is Python and Pillow work that holds the GIL, so by default it runs in a process of its own
    (EMBEDDED_PROCESSES): in a thread of the API process it would slow every request while cards are drawn."""

    def __init__(self, settings: Settings | None = None, *, font_family: str = "", processes: int = 0):
        self.font_family = font_family or (settings.compose.font if settings else "")
        self.work = CpuWork.configured(settings) if settings else CpuWork(processes)

    async def ready(self) -> Readiness:
        return Readiness(ready=True, detail=f"draws storyboard cards with Pillow in {self.work.where}")

    async def aclose(self) -> None:
        self.work.close()

    async def render(self, request: KeyframeRequest, out_path: Path) -> None:
        """Write the card for `request` to `out_path` as a PNG."""
        await self.work.run(draw_card_file, request, out_path, self.font_family)


def draw_card_file(request: KeyframeRequest, out_path: Path, font_family: str) -> None:
    """Draw the card and write it to `out_path` (via a temp name) — in whatever process runs it."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.tmp")
    render_card(request, font_family).save(tmp, format="PNG")
    os.replace(tmp, out_path)


def create(settings: Settings) -> StoryboardCardRenderer:
    """The embedded keyframe backend; it prefers the subtitle font family for its text."""
    return StoryboardCardRenderer(settings)


def sky_mood(image_detail: str) -> str:
    """The mood of the hour the still-frame prompt shows: night is dark, dusk warm, morning calm."""
    for mood, pattern in _SKIES:
        if pattern.search(image_detail):
            return mood
    return ""


def _varied(pal: Palette, rng: random.Random) -> Palette:
    """The palette a little lighter or darker and a little turned, per shot, so neighbouring cards differ."""
    turn, lift = rng.uniform(-0.04, 0.04), rng.uniform(-0.06, 0.06)

    def shift(rgb: RGB) -> RGB:
        h, light, sat = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
        return _hls(h + turn, light + lift, sat)

    return Palette(shift(pal.top), shift(pal.bottom), pal.accent, shift(pal.far), shift(pal.near))


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


def _unit(text: str) -> float:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def _hls(h: float, light: float, sat: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(h % 1.0, min(max(light, 0.0), 1.0), min(max(sat, 0.0), 1.0))
    return round(r * 255), round(g * 255), round(b * 255)
