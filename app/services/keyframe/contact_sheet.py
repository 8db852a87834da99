"""The contact sheet: the whole storyboard on one PNG — each shot's keyframe, its number and its narration.

A reviewer sees the story at a glance, and a backend can attach one image instead of a dozen. Drawn
with Pillow in the CJK font the storyboard cards use; pure (files in, image out), so it is tested
without the pipeline.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from app.services.keyframe.cardtext import fit_line, load_font, wrap_text

BACKGROUND = (24, 26, 31)
PANEL = (36, 39, 46)
TEXT = (236, 236, 236)
MUTED = (160, 166, 178)
ACCENT = (255, 196, 87)
#: Narration lines shown under each thumbnail (longer narration ends with '…').
NARRATION_LINES = 3


@dataclass(frozen=True)
class SheetShot:
    sequence: int
    shot_id: str
    narration: str
    keyframe: Path
    version: int = 1


def auto_columns(count: int) -> int:
    """Thumbnails per row for `count` shots: 2 up to 4 shots, 3 up to 9, else 4."""
    return 2 if count <= 4 else 3 if count <= 9 else 4


def render_contact_sheet(shots: list[SheetShot], *, title: str = "", subtitle: str = "", thumb_width: int = 320,
                         columns: int = 0, font_family: str = "") -> Image.Image:
    """A grid of the shots' keyframes in order, each with its number and narration, under a title bar."""
    if not shots:
        raise ValueError("a contact sheet needs at least one shot")
    columns = min(columns or auto_columns(len(shots)), len(shots))
    rows = math.ceil(len(shots) / columns)
    with Image.open(shots[0].keyframe) as first:
        aspect = first.height / first.width
    thumb_h = max(1, round(thumb_width * aspect))
    unit = max(thumb_width // 20, 10)
    gap, pad = unit, unit // 2
    label_font, body_font = load_font(round(unit * 1.3), True, font_family), load_font(unit + 1, False, font_family)
    title_font, sub_font = load_font(round(unit * 2.0), True, font_family), load_font(round(unit * 1.2), False,
                                                                                      font_family)
    line_h = round(body_font.size * 1.35)
    label_h = round(label_font.size * 1.5)
    cell_h = thumb_h + pad + label_h + NARRATION_LINES * line_h + pad
    header_h = round(title_font.size * 1.6) + (round(sub_font.size * 1.5) if subtitle else 0) + gap
    width = columns * thumb_width + (columns + 1) * gap
    height = header_h + rows * cell_h + (rows + 1) * gap
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((gap, gap), fit_line(title or "Storyboard", title_font, width - 2 * gap), font=title_font, fill=TEXT)
    if subtitle:
        draw.text((gap, gap + round(title_font.size * 1.6)), fit_line(subtitle, sub_font, width - 2 * gap),
                  font=sub_font, fill=MUTED)
    for index, shot in enumerate(shots):
        x = gap + (index % columns) * (thumb_width + gap)
        y = header_h + gap + (index // columns) * (cell_h + gap)
        draw.rectangle((x, y, x + thumb_width - 1, y + cell_h - 1), fill=PANEL)
        with Image.open(shot.keyframe) as image:
            sheet.paste(_fit(image.convert("RGB"), thumb_width, thumb_h), (x, y))
        label = f"{shot.sequence:02d}  {shot.shot_id}" + (f"  v{shot.version}" if shot.version > 1 else "")
        text_x, text_y = x + pad, y + thumb_h + pad
        draw.text((text_x, text_y), label, font=label_font, fill=ACCENT)
        lines = wrap_text(shot.narration, body_font, thumb_width - 2 * pad, max_lines=NARRATION_LINES)
        for number, line in enumerate(lines):
            draw.text((text_x, text_y + label_h + number * line_h), line, font=body_font, fill=TEXT)
    return sheet


def _fit(image: Image.Image, width: int, height: int) -> Image.Image:
    """`image` scaled to cover width×height, cropped to the middle."""
    scale = max(width / image.width, height / image.height)
    resized = image.resize((max(width, round(image.width * scale)), max(height, round(image.height * scale))),
                           Image.Resampling.LANCZOS)
    left, top = (resized.width - width) // 2, (resized.height - height) // 2
    return resized.crop((left, top, left + width, top + height))


def write_contact_sheet(shots: list[SheetShot], out_path: Path, *, title: str = "", subtitle: str = "",
                        thumb_width: int = 320, columns: int = 0, font_family: str = "") -> Path:
    """Render the sheet and write it as PNG to `out_path` (via a temporary file, so readers never see half)."""
    sheet = render_contact_sheet(shots, title=title, subtitle=subtitle, thumb_width=thumb_width, columns=columns,
                                 font_family=font_family)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex[:8]}.tmp")  # never a leftover's name
    try:
        sheet.save(tmp, format="PNG", optimize=True)
        tmp.replace(out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path
