"""Scoring a storyboard planner against the labelled scripts in tests/data/planner_scripts.json.

Every figure is computed from the labels and the storyboard alone (names, looks, prompts), never from
the planner's internals, so the same code scores any planner (`bench/planner.py` also scores the
planner before this work). What a figure means:

- protagonist: the storyboard's first character is the labelled protagonist (by name or a label alias).
- kind shown: each labelled character the storyboard has gets a look of its kind (a person has hair;
  an animal fur, feathers, scales or skin and no hair; a thing its material and no hair; a group is a
  group). `human hair` counts animals, things and animal groups whose look has hair.
- subject: a shot's subject names a character its paragraph(s) are about (label `who`).
- characters exact: a shot's `characters` are all among those its paragraph(s) are about.
- place: a shot's picture prompt names the labelled place (words from the script) of its paragraph(s).
- time contradictions: a shot whose prompts show a time of day other than its paragraph's.
- weather shown: a shot whose paragraph has labelled weather and whose prompts show it.

A shot belongs to the paragraphs its narration comes from; a templated shot (a premise's arc) belongs
to every paragraph.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "planner_scripts.json"

HAIR = re.compile(r"短发|长发|卷发|黑发|棕发|金发|白发|红发|发髻|辫子|马尾|寸头|头发|呆毛|\bhair\b|\bcurls\b|ponytail|"
                  r"braids|\bbun\b|buzz cut|\bbob\b", re.I)
BODY = re.compile(r"毛|羽|鳞|皮肤|壳|刺|绒|\bfur\b|feather|scales|skin|shell|spines|fluff|wool|fuzzy", re.I)
MATERIAL = re.compile(r"金属|纸|雪|木|布|绒|稻草|外皮|铜|metal|paper|snow|wood|cloth|plush|straw|rubber|brass", re.I)
GROUP = re.compile(r"一群|\ba group of\b", re.I)
TIMES: dict[str, re.Pattern[str]] = {
    "morning": re.compile(r"清晨|晨光|早晨|黎明|朝阳|\bmorning\b|\bdawn\b|sunrise", re.I),
    "day": re.compile(r"白天|正午|午后|日光|\bdaylight\b|midday|afternoon", re.I),
    "dusk": re.compile(r"傍晚|黄昏|夕阳|暮色|\bevening\b|sunset|\bdusk\b", re.I),
    "night": re.compile(r"夜|月光|\bnight\b|moonlight", re.I),
}
WEATHER: dict[str, re.Pattern[str]] = {
    "rain": re.compile(r"雨|\brain", re.I), "storm": re.compile(r"暴风|闪电|雷|storm|lightning", re.I),
    "snow": re.compile(r"雪花|飘落.*雪|snow", re.I), "fog": re.compile(r"雾|fog|mist", re.I),
    "wind": re.compile(r"风|wind", re.I),
}


def load_scripts() -> list[dict[str, Any]]:
    return list(json.loads(DATA.read_text(encoding="utf-8"))["scripts"])


def script_text(item: dict[str, Any]) -> str:
    return "\n\n".join(p["text"] for p in item["paragraphs"])


def norm(name: str) -> str:
    return re.sub(r"^(?:the|a|an)\s+", "", name.strip().lower())


@dataclass
class Tally:
    """Counts over all scripts; `misses` records what went wrong, for the report."""

    scripts: int = 0
    protagonist: int = 0
    characters: int = 0
    kind_shown: int = 0
    human_hair: int = 0
    shots: int = 0
    subject: int = 0
    exact: int = 0
    place_shots: int = 0
    place: int = 0
    time_shots: int = 0
    time_shown: int = 0
    time_contradictions: int = 0
    weather_shots: int = 0
    weather: int = 0
    misses: list[str] = field(default_factory=list)

    def rates(self) -> dict[str, float]:
        def share(a: int, b: int) -> float:
            return a / b if b else 1.0

        return {
            "protagonist": share(self.protagonist, self.scripts), "kind": share(self.kind_shown, self.characters),
            "subject": share(self.subject, self.shots), "exact": share(self.exact, self.shots),
            "place": share(self.place, self.place_shots), "time": share(self.time_shown, self.time_shots),
            "weather": share(self.weather, self.weather_shots),
        }


def score(plan: Callable[[str, str], dict[str, Any]], items: list[dict[str, Any]] | None = None) -> Tally:
    """Plan every labelled script with `plan(script, style) -> storyboard dict` and count."""
    tally = Tally()
    for item in items if items is not None else load_scripts():
        board = plan(script_text(item), item.get("style", ""))
        score_board(item, board, tally)
    return tally


def score_board(item: dict[str, Any], board: dict[str, Any], tally: Tally) -> None:
    names = _names(item)
    cast = board["characters"]
    tally.scripts += 1
    lead = names.get(norm(cast[0]["name"])) if cast else None
    if lead == item["protagonist"]:
        tally.protagonist += 1
    else:
        tally.misses.append(f"{item['id']}: protagonist {cast[0]['name'] if cast else None!r}")
    labels = {c["name"]: c for c in item["characters"]}
    for character in cast:
        label = labels.get(names.get(norm(character["name"]), ""))
        if label is None:
            continue
        tally.characters += 1
        hairy = bool(HAIR.search(character["look"]))
        if label["kind"] != "person" and not (label["kind"] == "group" and not label.get("species")) and hairy:
            tally.human_hair += 1
            tally.misses.append(f"{item['id']}: hair on {character['name']}")
        if _kind_shown(label, character["look"]):
            tally.kind_shown += 1
        else:
            tally.misses.append(f"{item['id']}: kind of {character['name']} ({label['kind']}): {character['look']}")
    for shot, paras in zip(board["shots"], _paragraphs_of(item, board["shots"]), strict=True):
        _score_shot(item, shot, paras, names, tally)


def _names(item: dict[str, Any]) -> dict[str, str]:
    """Every way a label names a character (normalised) → the character's label name."""
    found: dict[str, str] = {}
    for c in item["characters"]:
        for n in (c["name"], *c.get("aka", ())):
            found.setdefault(norm(n), c["name"])
    return found


def _kind_shown(label: dict[str, Any], look: str) -> bool:
    kind = label["kind"]
    if kind == "person":
        return bool(HAIR.search(look))
    if kind == "group":
        return bool(GROUP.search(look)) and (not label.get("species") or not HAIR.search(look))
    if kind == "thing":
        return bool(MATERIAL.search(look)) and not HAIR.search(look)
    return bool(BODY.search(look)) and not HAIR.search(look)


def _paragraphs_of(item: dict[str, Any], shots: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The labelled paragraphs each shot's narration comes from (all of them for a templated shot)."""
    paras = item["paragraphs"]
    squashed = [re.sub(r"\s+", "", p["text"]) for p in paras]
    starts, at = [], 0
    for text in squashed:
        starts.append(at)
        at += len(text)
    whole = "".join(squashed)
    out, cursor = [], 0
    for shot in shots:
        needle = re.sub(r"\s+", "", shot["narration"])
        found = whole.find(needle, cursor) if needle else -1
        if found < 0:
            out.append(paras)
            continue
        cursor = found + len(needle)
        out.append([p for p, s, t in zip(paras, starts, squashed, strict=True) if s < cursor and s + len(t) > found])
    return out


def _score_shot(item: dict[str, Any], shot: dict[str, Any], paras: list[dict[str, Any]], names: dict[str, str],
                tally: Tally) -> None:
    tally.shots += 1
    who = {w for p in paras for w in p["who"]}
    characters = [names.get(norm(c)) for c in shot["characters"]]
    if characters and characters[0] in who:
        tally.subject += 1
    else:
        tally.misses.append(f"{item['id']}: subject {shot['characters'][:1]} of {shot['narration'][:40]!r}")
    if characters and all(c in who for c in characters):
        tally.exact += 1
    prompts = f"{shot['image_detail']} {shot['detail']}"
    places = [pl for p in paras for pl in (p["place"] or [])]
    if places:
        tally.place_shots += 1
        if any(pl.lower() in shot["image_detail"].lower() for pl in places):
            tally.place += 1
        else:
            tally.misses.append(f"{item['id']}: place {places} not in the prompt of {shot['narration'][:24]!r}")
    _score_time(item, shot, paras, prompts, tally)


def _score_time(item: dict[str, Any], shot: dict[str, Any], paras: list[dict[str, Any]], prompts: str,
                tally: Tally) -> None:
    labels = [p["time"] for p in paras]
    if all(t is not None for t in labels):
        allowed = {t for label in labels for t in ([label] if isinstance(label, str) else label)}
        shown = {t for t, pattern in TIMES.items() if pattern.search(prompts)}
        tally.time_shots += 1
        if shown & allowed:
            tally.time_shown += 1
        if shown - allowed:
            tally.time_contradictions += 1
            narration = shot["narration"][:30]
            tally.misses.append(f"{item['id']}: time {sorted(shown)} vs {sorted(allowed)} in {narration!r}")
    weathers = {p["weather"] for p in paras if p.get("weather")}
    if weathers:
        tally.weather_shots += 1
        if any(WEATHER[w].search(prompts) for w in weathers):
            tally.weather += 1
