"""The CPU-checkable parts of bench/hunyuan_gpu.py: full-size config, shape math, the report writer.

The script itself runs on a lent GPU machine; here the full-size transformer is built on the meta
device (no memory) to count its parameters, and a tiny model runs the whole script on CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import diffusers  # noqa: F401
import pytest

from tests.by_path import import_by_path

BENCH_PATH = Path(__file__).resolve().parents[1] / "bench" / "hunyuan_gpu.py"
COMPOSITION = "## Composition\n\nAnother engineer's numbers.\n"


@pytest.fixture(scope="module")
def bench():
    return import_by_path("hunyuan_gpu_bench", BENCH_PATH)


@pytest.mark.parametrize("resolution", ["480p", "720p"])
def test_full_size_transformer_has_8_3b_parameters(bench, resolution):
    config = bench.transformer_config(resolution)
    assert config["target_size"] == {"480p": 640, "720p": 960}[resolution]
    assert bench.count_parameters(config) == 8_326_608_160  # 8.33 B, the published "8.3B"


def test_shapes_of_121_frames_at_480p_and_720p(bench):
    s480, s720 = bench.shapes_for("480p", 121), bench.shapes_for("720p", 121)
    assert (s480.height, s480.width, s480.latent) == (480, 848, (65, 31, 30, 53))
    assert (s720.height, s720.width, s720.latent) == (720, 1280, (65, 31, 45, 80))
    assert s480.video_tokens == 49_290 and s720.video_tokens == 111_600
    assert s480.text_tokens == 1000 + 256 + 729


def test_frames_must_be_4k_plus_1(bench):
    with pytest.raises(ValueError, match="4k\\+1"):
        bench.shapes_for("480p", 120)


def test_quick_configs_run_eager_before_compiled(bench):
    configs = bench.pick_configs(quick=True, names=None)
    assert configs[0].name == "sdpa (default)"
    assert [c.compile for c in configs] == sorted(c.compile for c in configs)
    with pytest.raises(SystemExit):
        bench.pick_configs(quick=False, names=["warp drive"])


def test_tiny_run_appends_its_section_and_keeps_others(bench, tmp_path):
    out, raw = tmp_path / "benchmarks.md", tmp_path / "run.json"
    out.write_text("# Benchmarks\n\n" + COMPOSITION)
    argv = ["--tiny", "--device", "cpu", "--frames", "5", "--configs", "sdpa (default),sdpa cuDNN",
            "--out", str(out), "--json", str(raw)]
    assert bench.main(argv) == 0
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\n" + COMPOSITION)
    section = text[text.index(bench.SECTION):]
    assert "| 480p | 40x24x5f |" in section and "| 720p |" in section
    rows = json.loads(raw.read_text())["results"]
    assert {r["config"]: r["status"] for r in rows if r["resolution"] == "480p"}["sdpa (default)"] == "ok"
    assert all(r["s_per_forward"] > 0 for r in rows if r["status"] == "ok")

    # a later run (here re-rendered from the JSON) lands in the same section, before any later section
    out.write_text(text + "\n## Later section\n\nkept\n")
    assert bench.main(["--from-json", str(raw), "--out", str(out)]) == 0
    again = out.read_text()
    assert again.count(bench.SECTION) == 1 and again.count("### ") == 2
    assert again.index("### ", again.index("### ") + 1) < again.index("## Later section")
    assert again.endswith("## Later section\n\nkept\n") and COMPOSITION in again


def test_configs_past_the_time_budget_are_skipped_not_run(bench, tmp_path):
    raw = tmp_path / "run.json"
    argv = ["--tiny", "--device", "cpu", "--frames", "5", "--resolutions", "480p", "--time-budget-s", "1e-9",
            "--out", str(tmp_path / "b.md"), "--json", str(raw)]
    assert bench.main(argv) == 0
    rows = json.loads(raw.read_text())["results"]
    assert rows and {r["status"] for r in rows} == {"skipped: time budget"}
