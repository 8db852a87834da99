"""The README's demo command works in a fresh clone of the committed tree."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.media import probe, stream
from tests.server import REPO


def test_readme_names_the_two_commands():
    readme = (REPO / "README.md").read_text()
    assert "scripts/setup.sh && .venv/bin/python -m app.cli demo" in readme
    assert "scripts/setup.sh && .venv/bin/python -m pytest -q" in readme
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/setup.sh" in ci and "-m pytest -q" in ci


def test_demo_renders_the_example_story_in_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    env = {**os.environ, "VIDEO_WIDTH": "480", "VIDEO_HEIGHT": "270", "COLUMNS": "200"}
    try:  # the demo's own deadline, then ours: both below the test's, so a hang shows what it printed
        done = subprocess.run([sys.executable, "-m", "app.cli", "demo", "--data-dir", str(tmp_path / "data"),
                               "--timeout-s", "200"], cwd=clone, env=env, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as hung:
        raise AssertionError(f"the demo hung; it printed:\n{hung.stdout!r}\n{hung.stderr!r}") from None
    assert done.returncode == 0, done.stdout + done.stderr
    video = re.search(r"video\s+(\S+\.mp4)", done.stdout)
    subtitles = re.search(r"subtitles\s+(\S+\.srt)", done.stdout)
    storyboard = re.search(r"storyboard\s+(\S+story\.json)", done.stdout)
    assert video and subtitles and storyboard, done.stdout
    info = probe(video.group(1))
    assert stream(info, "video")["codec_name"] == "h264" and stream(info, "audio")["codec_name"] == "aac"
    assert "豆豆" in Path(subtitles.group(1)).read_text(encoding="utf-8")
