"""Embedded storyboard planner benchmark: quality on the labelled scripts and planning speed, against the
planner before this work, in one run.

Each planner runs in its own Python process (the baseline is the `app/` tree of a git commit, extracted to
a temporary folder), planning every script of tests/data/planner_scripts.json; tests/planner_eval.py
scores both storyboards the same way. Speed: the first plan of a 12-shot script in a fresh process
(imports and, for the new planner, loading jieba included), then the median and 95th percentile of
repeated plans of it.

    python bench/planner.py                         # writes docs/planner.md and the section in docs/benchmarks.md
    python bench/planner.py --baseline <commit> --repeat 50 --no-write
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BASELINE = "7e792cb"  # main before the planner read casts, places and times (issue 13)
DOC = REPO / "docs" / "planner.md"
HELDOUT = REPO / "tests" / "data" / "planner_heldout.json"
BENCHMARKS = REPO / "docs" / "benchmarks.md"
START, END = "<!-- planner-bench:start -->", "<!-- planner-bench:end -->"
#: (id, title) of the labelled scripts joined into the 12-shot scripts timed for speed
LONG_ZH = ("zh-puppy-mother", "zh-duckling-swim", "zh-fox-hedgehog-apple")
LONG_EN = ("en-bear-bo-lost", "en-robot-pip-kitten", "en-tomas-harbour-fog")


def _eval_module() -> Any:
    spec = importlib.util.spec_from_file_location("planner_eval", REPO / "tests" / "planner_eval.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- worker (one planner)


def worker(root: Path, repeat: int) -> dict[str, Any]:
    """Score and time the planner whose `app/` is under `root` (run in a fresh process)."""
    evaluation = _eval_module()
    items = evaluation.load_scripts()
    long_scripts = {lang: "\n\n".join(evaluation.script_text(next(i for i in items if i["id"] == key)) for key in ids)
                    for lang, ids in (("zh", LONG_ZH), ("en", LONG_EN))}
    started = time.perf_counter()
    sys.path.insert(0, str(root))
    from app.services.storyboard.rules.planner import build_storyboard  # noqa: PLC0415 - the planner under test

    first = build_storyboard(long_scripts["zh"], "温馨")
    cold = time.perf_counter() - started
    speed = {"cold_s": cold}
    forget = _cache_clearer()
    for lang, script in long_scripts.items():
        times = []
        for _ in range(repeat):
            forget()  # every timed plan cuts its words afresh, as a new script would
            t = time.perf_counter()
            board = build_storyboard(script, "温馨")
            times.append(time.perf_counter() - t)
        speed[lang] = {"shots": len(board.shots), "median_s": statistics.median(times),
                       "p95_s": sorted(times)[max(0, round(0.95 * len(times)) - 1)]}
    assert len(first.shots) == speed["zh"]["shots"]
    tallies = {"all": evaluation.Tally(), "zh": evaluation.Tally(), "en": evaluation.Tally(),
               "mixed": evaluation.Tally(), "script": evaluation.Tally(), "premise": evaluation.Tally()}
    for item in items:
        board = build_storyboard(evaluation.script_text(item), item.get("style", "")).model_dump()
        for name in ("all", item["lang"], item["form"]):
            evaluation.score_board(item, board, tallies[name])
    heldout = json.loads(HELDOUT.read_text(encoding="utf-8"))["scripts"]
    tallies["heldout"] = evaluation.score(lambda s, st: build_storyboard(s, st).model_dump(), heldout)
    return {"speed": speed, "tallies": {k: {**vars(t), "rates": t.rates()} for k, t in tallies.items()}}


def _cache_clearer() -> Any:
    """A function that empties the planner's word cache (the baseline has none)."""
    try:
        from app.services.storyboard.rules import segment  # noqa: PLC0415 - only the new planner has it
    except ImportError:
        return lambda: None
    return segment._cut.cache_clear


# --------------------------------------------------------------------------- driver


def run_worker(root: Path, repeat: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(Path(__file__)), "--worker", str(root), "--repeat", str(repeat)],
                         capture_output=True, text=True, check=True, cwd=root)
    return json.loads(out.stdout.strip().splitlines()[-1])


def baseline_tree(commit: str, into: Path) -> Path:
    """The `app/` tree of `commit`, extracted under `into`."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "app"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def _pct(rate: float) -> str:
    return f"{100 * rate:.1f} %"


def quality_table(new: dict[str, Any], old: dict[str, Any], commit: str, part: str = "all") -> str:
    a, b = old["tallies"][part], new["tallies"][part]
    rows = [
        ("protagonist found", f"{a['protagonist']} / {a['scripts']}", f"{b['protagonist']} / {b['scripts']}",
         "every script"),
        ("character drawn as its kind", _pct(a["rates"]["kind"]), _pct(b["rates"]["kind"]), "—"),
        ("animals or things with human hair", str(a["human_hair"]), str(b["human_hair"]), "0"),
        ("shot subject is who the narration is about", _pct(a["rates"]["subject"]), _pct(b["rates"]["subject"]),
         "≥ 95 %"),
        ("shot characters all in its scene", _pct(a["rates"]["exact"]), _pct(b["rates"]["exact"]), "—"),
        ("picture prompt names the script's place", _pct(a["rates"]["place"]), _pct(b["rates"]["place"]), "≥ 90 %"),
        ("prompt shows the paragraph's time of day", _pct(a["rates"]["time"]), _pct(b["rates"]["time"]), "—"),
        ("shots contradicting the time of day", str(a["time_contradictions"]), str(b["time_contradictions"]), "0"),
        ("prompt shows the paragraph's weather", _pct(a["rates"]["weather"]), _pct(b["rates"]["weather"]), "—"),
    ]
    lines = [f"| measure ({b['scripts']} scripts, {b['shots']} shots) | before (`{commit}`) | now | target |",
             "|---|---|---|---|"]
    lines += [f"| {name} | {before} | {now} | {target} |" for name, before, now, target in rows]
    return "\n".join(lines)


def breakdown_table(new: dict[str, Any]) -> str:
    lines = ["| part | scripts | shots | protagonist | subject | place | time shown | contradictions |",
             "|---|---|---|---|---|---|---|---|"]
    for part in ("zh", "en", "mixed", "script", "premise"):
        t = new["tallies"][part]
        lines.append(f"| {part} | {t['scripts']} | {t['shots']} | {t['protagonist']} / {t['scripts']} | "
                     f"{_pct(t['rates']['subject'])} | {_pct(t['rates']['place'])} | {_pct(t['rates']['time'])} | "
                     f"{t['time_contradictions']} |")
    return "\n".join(lines)


def speed_table(new: dict[str, Any], old: dict[str, Any], commit: str) -> str:
    lines = ["| planner | first plan in a new process | 12-shot zh: median / p95 | 12-shot en: median / p95 |",
             "|---|---|---|---|"]
    for name, result in ((f"before (`{commit}`)", old), ("now", new)):
        s = result["speed"]
        cells = [f"{1000 * s['cold_s']:.0f} ms"]
        cells += [f"{1000 * s[lang]['median_s']:.1f} / {1000 * s[lang]['p95_s']:.1f} ms ({s[lang]['shots']} shots)"
                  for lang in ("zh", "en")]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def section(new: dict[str, Any], old: dict[str, Any], commit: str, repeat: int) -> str:
    machine = f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    return "\n\n".join([
        f"Measured by `bench/planner.py` on {time.strftime('%Y-%m-%d', time.gmtime())} ({machine}); the baseline is "
        f"the planner at `{commit}`, run in the same invocation. Quality over the labelled scripts in "
        "`tests/data/planner_scripts.json` (scored by `tests/planner_eval.py`):",
        quality_table(new, old, commit),
        "By language and form (now):",
        breakdown_table(new),
        "The held-out scripts (`tests/data/planner_heldout.json`; see above for how they were used):",
        quality_table(new, old, commit, "heldout"),
        f"Speed (each planner in a fresh process; {repeat} repeats):",
        speed_table(new, old, commit),
    ])


def write_docs(text: str, misses: list[str]) -> None:
    doc = DOC.read_text(encoding="utf-8")
    missed = "\n".join(f"- {m}" for m in misses) or "- none"
    block = f"{START}\n{text}\n\nWhat the planner still gets wrong on the set:\n\n{missed}\n{END}"
    DOC.write_text(_replace(doc, block), encoding="utf-8")
    bench = BENCHMARKS.read_text(encoding="utf-8")
    if START not in bench:
        intro = "See [planner.md](planner.md) for what is measured."
        bench += f"\n## Embedded storyboard planner\n\n{intro}\n\n{START}\n{END}\n"
    BENCHMARKS.write_text(_replace(bench, f"{START}\n{text}\n{END}"), encoding="utf-8")


def _replace(doc: str, block: str) -> str:
    head, _, rest = doc.partition(START)
    _, _, tail = rest.partition(END)
    return head + block + tail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="git commit of the planner to compare with")
    parser.add_argument("--repeat", type=int, default=30, help="timed plans per 12-shot script")
    parser.add_argument("--no-write", action="store_true", help="print the tables, leave the docs alone")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeat)))  # noqa: T201 - the driver reads this line
        return
    new = run_worker(REPO, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        old = run_worker(baseline_tree(args.baseline, Path(tmp)), args.repeat)
    text = section(new, old, args.baseline, args.repeat)
    print(text)  # noqa: T201 - a report
    if not args.no_write:
        write_docs(text, new["tallies"]["all"]["misses"])


if __name__ == "__main__":
    main()
