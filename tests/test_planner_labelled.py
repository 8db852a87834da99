"""The embedded planner over the labelled scripts (tests/data/planner_scripts.json) meets the issue's
targets; docs/planner.md prints the same figures (bench/planner.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.services.storyboard.rules.planner import build_storyboard
from tests.planner_eval import HAIR, Tally, load_scripts, score, score_board

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "example" / "stories"


def plan(script: str, style: str) -> dict[str, Any]:
    return build_storyboard(script, style).model_dump()


@pytest.fixture(scope="module")
def tally() -> Tally:
    return score(plan)


def test_the_labelled_set_is_varied() -> None:
    items = load_scripts()
    assert len(items) >= 40
    assert {i["lang"] for i in items} == {"zh", "en", "mixed"}
    assert {i["form"] for i in items} == {"script", "premise"}
    kinds = {c["kind"] for i in items for c in i["characters"]}
    assert kinds == {"animal", "person", "group", "thing"}
    moving = [i for i in items if len({str(p["place"]) for p in i["paragraphs"]}) > 1]
    changing = [i for i in items if len({str(p["time"]) for p in i["paragraphs"]}) > 1]
    assert len(moving) >= 10 and len(changing) >= 10
    for item in items:  # every labelled place is a word of the script
        text = " ".join(p["text"] for p in item["paragraphs"]).lower()
        assert all(place.lower() in text for p in item["paragraphs"] for place in p["place"] or [])


def test_protagonist_is_found_in_every_script(tally: Tally) -> None:
    assert tally.protagonist == tally.scripts, [m for m in tally.misses if "protagonist" in m]


def test_no_animal_or_thing_has_human_hair(tally: Tally) -> None:
    assert tally.characters >= 60
    assert tally.human_hair == 0
    assert tally.rates()["kind"] >= 0.95


def test_shot_subjects_places_and_times_follow_the_script(tally: Tally) -> None:
    rates = tally.rates()
    assert tally.shots >= 200
    assert rates["subject"] >= 0.95
    assert rates["place"] >= 0.90
    assert tally.time_contradictions == 0
    assert rates["time"] >= 0.90


def test_the_held_out_scripts_meet_the_targets_too() -> None:
    items = json.loads((REPO / "tests" / "data" / "planner_heldout.json").read_text(encoding="utf-8"))["scripts"]
    held = score(plan, items)
    assert held.scripts == 12
    assert held.protagonist == held.scripts and held.human_hair == 0 and held.time_contradictions == 0
    assert held.rates()["subject"] >= 0.95 and held.rates()["place"] >= 0.90


def test_the_scorer_catches_a_wrong_storyboard() -> None:
    """The measure can fail: a storyboard with the absent mother as lead, in human hair, at the wrong hour."""
    item = next(i for i in load_scripts() if i["id"] == "zh-puppy-mother")
    board = plan("\n\n".join(p["text"] for p in item["paragraphs"]), item["style"])
    wrong = {**board, "characters": [{"name": "妈妈", "look": "利落的栗色短发"}, *board["characters"]]}
    wrong["shots"] = [{**s, "characters": ["妈妈"], "image_detail": "妈妈，温暖的晨光", "detail": "晨光"}
                      for s in board["shots"]]
    tally = Tally()
    score_board(item, wrong, tally)
    assert tally.protagonist == 0
    assert tally.human_hair == 1
    assert tally.subject < tally.shots
    assert tally.place == 0
    assert tally.time_contradictions >= 2  # the dusk and moonlight shots lit by morning light


def test_the_demo_story_is_about_doudou_the_puppy() -> None:
    spec = json.loads((EXAMPLES / "puppy_zh.json").read_text(encoding="utf-8"))
    board = build_storyboard(spec["script_content"], spec["style"], spec["display_name"])
    lead = board.characters[0]
    assert lead.name == "豆豆"
    assert "狗" in lead.look and "毛" in lead.look and not HAIR.search(lead.look)
    mother = next(c for c in board.characters if c.name == "妈妈")
    assert "狗" in mother.look and not HAIR.search(mother.look)  # a puppy's mother is a dog
    first = board.shots[0]
    assert first.characters == ["豆豆"]  # 豆豆 wakes up alone: the mother is missing
    assert "晨" in first.image_detail
    assert "月光" in board.shots[-1].image_detail and "晨" not in board.shots[-1].image_detail


def test_plans_are_the_same_in_every_process() -> None:
    """Deterministic across processes too (Python salts str hashes per process: no set order leaks)."""
    code = ("import hashlib, json, sys; sys.path.insert(0, '.');"
            "from tests.planner_eval import load_scripts, script_text;"
            "from app.services.storyboard.rules.planner import build_storyboard;"
            "boards = [build_storyboard(script_text(i), i['style']).model_dump() for i in load_scripts()];"
            "print(hashlib.sha256(json.dumps(boards, ensure_ascii=False).encode()).hexdigest())")
    digests = {
        subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONHASHSEED": seed},
                       capture_output=True, text=True, check=True).stdout.strip()
        for seed in ("1", "2")
    }
    assert len(digests) == 1
