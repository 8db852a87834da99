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


def video_facts(path: Path) -> dict:
    """Size, frame rate (a Fraction), frame count and stream durations of a video file."""
    from fractions import Fraction

    info = probe(path)
    video = stream(info, "video")
    has_audio = any(s["codec_type"] == "audio" for s in info["streams"])
    return {"size": (video["width"], video["height"]), "fps": Fraction(video["r_frame_rate"]),
            "frames": int(video["nb_frames"]), "duration": stream_duration(path, "video"),
            "audio_duration": stream_duration(path, "audio") if has_audio else None}


def gray_frame(path: Path, seconds: float) -> object:
    """The frame shown at `seconds` as a 2-D numpy array of luma values."""
    import numpy as np

    info = stream(probe(path), "video")
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{seconds:.3f}", "-i", str(path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(info["height"], info["width"]).astype(float)


def ssim(a: object, b: object, window: int = 7) -> float:
    """Mean structural similarity of two equally sized grayscale arrays (uniform `window`, 8-bit constants)."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    wa = sliding_window_view(np.asarray(a, float), (window, window))
    wb = sliding_window_view(np.asarray(b, float), (window, window))
    ma, mb = wa.mean(axis=(-1, -2)), wb.mean(axis=(-1, -2))
    va, vb = wa.var(axis=(-1, -2)), wb.var(axis=(-1, -2))
    cov = (wa * wb).mean(axis=(-1, -2)) - ma * mb
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return float((((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))).mean())
