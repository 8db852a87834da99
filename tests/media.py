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
    """Duration of the first audio or video stream, measured by decoding its packets."""
    selector = "v:0" if kind == "video" else "a:0"
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", selector, "-show_entries",
                          "packet=pts_time,duration_time", "-of", "csv=p=0", str(path)],
                         check=True, capture_output=True, text=True).stdout
    end = 0.0
    for line in out.split():
        pts, _, dur = line.partition(",")
        if pts and dur and pts != "N/A" and dur != "N/A":
            end = max(end, float(pts) + float(dur))
    return end
