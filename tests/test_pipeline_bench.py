"""The bound bench/pipeline.py measures against (the benchmark itself runs for minutes; docs/benchmarks.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.by_path import import_by_path

BENCH_PATH = Path(__file__).resolve().parents[1] / "bench" / "pipeline.py"


@pytest.fixture(scope="module")
def bench():
    return import_by_path("pipeline_bench", BENCH_PATH)


def test_clips_after_serial_narration_on_four_hosts_take_two_plus_twelve_seconds(bench) -> None:
    narrated = [0.5 * i for i in range(1, 13)]
    assert bench.list_schedule(narrated, 4.0, 4) == pytest.approx(14.0)  # the 4th host starts at 2 s
    assert bench.list_schedule([0.0] * 12, 4.0, 4) == pytest.approx(12.0)
    assert bench.list_schedule([0.5 * i for i in range(1, 25)], 4.0, 4) == pytest.approx(26.0)  # two stories


def test_the_storyboard_reply_has_the_asked_number_of_shots_in_order(bench) -> None:
    shots = json.loads(bench.twelve_shots(12))["shots"]
    assert [s["sequence"] for s in shots] == list(range(1, 13))


def test_a_row_compares_wall_time_with_the_gpu_bound_plus_the_tail(bench) -> None:
    row = bench.Row("defaults", "render", wall_s=21.0, gpu_bound_s=14.0, tail_s=6.0)
    assert row.bound_s == 20.0 and row.ratio == pytest.approx(1.05)
