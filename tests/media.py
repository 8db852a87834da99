"""ffprobe helpers for assertions on real output files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def probe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                          str(path)], check=True, capture_output=True).stdout
    return json.loads(out)


def stream(info: dict, kind: str) -> dict:
    return next(s for s in info["streams"] if s["codec_type"] == kind)


def stream_duration(path: Path, kind: str) -> float:
    """End time of the first audio or video stream, measured from its packets."""
    selector = "v:0" if kind == "video" else "a:0"
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", selector, "-show_entries",
                          "packet=pts_time,duration_time", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    packets = json.loads(out).get("packets", [])
    return max(float(p["pts_time"]) + float(p.get("duration_time", 0)) for p in packets if "pts_time" in p)


def image_facts(source: object) -> tuple[str | None, tuple[int, int]]:
    """(format, size) of an image file or stream, closing it again."""
    from PIL import Image

    with Image.open(source) as image:  # type: ignore[arg-type]
        return image.format, image.size


def rgb_image(source: object) -> object:
    """An image loaded as RGB, its file closed."""
    from PIL import Image

    with Image.open(source) as image:  # type: ignore[arg-type]
        return image.convert("RGB")
