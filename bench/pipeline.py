"""Pipeline benchmark: how close create and render come to the time the GPU pool allows.

It runs the real service (`python -m app.main`, LOCAL_INFERENCE=true) against the protocol doubles of
its local GPU servers, each with a fixed latency: Ollama (the storyboard, LLM_S), N ComfyUI hosts (one
keyframe at a time each, KEYFRAME_S), N HunyuanVideo-1.5 servers (one clip at a time each, CLIP_S) and one
CosyVoice server (one narration at a time, TTS_S). The doubles run in this process and record when each
GPU job ran; the service's settings are its defaults but for the hosts, a small frame (so FFmpeg on a
small machine stays out of the way) and any `--set NAME=value`.

For each configuration it prints, per operation, the wall time (POST to `finished_at`) against the bound:

    create  LLM + ceil(shots / hosts) waves of keyframes
    render  the clips list-scheduled on the hosts, each shot's clip no earlier than its narration ends on
            the one speech server (narration i of n ends at i × TTS_S); for 12 shots on 4 hosts at 4 s that
            is 2 s + 12 s
    + tail  what runs on the CPU after the last shot asset has landed (the story's final write; composition
            and publish), measured, since no scheduling of the GPUs can shorten it; with several stories,
            the longest of their tails

using the jobs' measured lengths, and two renders at once against the bound for both together (their 2n
narrations and 2n clips on the same servers). Run it from the repository root:

    .venv/bin/python bench/pipeline.py                      # 12 shots, 4 hosts, one story, then two at once
    .venv/bin/python bench/pipeline.py --set MAX_PARALLEL_SHOTS=2 --only one
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.doubles.comfyui import ComfyDouble  # noqa: E402
from tests.doubles.cosyvoice import serve_cosyvoice  # noqa: E402
from tests.doubles.hunyuan import serve_hunyuan  # noqa: E402
from tests.doubles.llm_script import Hang, storyboard_reply  # noqa: E402
from tests.doubles.ollama import serve_ollama  # noqa: E402
from tests.doubles.serving import serve_in_thread  # noqa: E402
from tests.server import ServiceProcess  # noqa: E402

SMALL = {"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180", "VIDEO_FPS": "12", "LOG_LEVEL": "WARNING"}
KEYFRAME_STEPS = 20
SCRIPT = "小狐狸阿橘醒来发现妈妈不见了，它跑过山坡、跳过小河，终于找到了妈妈。"


@dataclass
class Latencies:
    llm_s: float = 1.0
    keyframe_s: float = 2.0
    clip_s: float = 4.0
    tts_s: float = 0.5


@dataclass
class Doubles:
    """The GPU servers' doubles of one run, and what they recorded."""

    ollama: Any
    comfy: list[ComfyDouble]
    hunyuan: list[Any]
    cosy: Any
    settings: dict[str, str] = field(default_factory=dict)

    def keyframe_runs(self) -> list[tuple[float, float]]:
        return [(s, e) for d in self.comfy for _, s, e in d.runs]

    def clip_runs(self) -> list[tuple[float, float]]:
        return [(s, e) for d in self.hunyuan for _, s, e in d.runs]

    def clear(self) -> None:
        for double in [*self.comfy, *self.hunyuan]:
            double.runs.clear()
        self.cosy.spans.clear()


def twelve_shots(count: int) -> str:
    """The doubles' storyboard reply with its six shots repeated to `count`."""
    reply = storyboard_reply()
    shots = [dict(reply["shots"][i % 6], sequence=i + 1) for i in range(count)]
    return json.dumps({**reply, "shots": shots}, ensure_ascii=False)


def start_doubles(stack: ExitStack, hosts: int, lat: Latencies, shots: int, tmp: Path) -> Doubles:
    ollama = stack.enter_context(serve_ollama())
    reply = twelve_shots(shots)
    ollama.default_reply = lambda body: reply
    comfy = []
    for i in range(hosts):
        double = ComfyDouble(tmp / f"comfy{i}", steps=KEYFRAME_STEPS, step_s=lat.keyframe_s / KEYFRAME_STEPS)
        double.base_url = stack.enter_context(serve_in_thread(double.app, health_path="/system_stats"))
        comfy.append(double)
    hunyuan = [stack.enter_context(serve_hunyuan(latency_s=lat.clip_s)) for _ in range(hosts)]
    cosy = stack.enter_context(serve_cosyvoice(latency_s=lat.tts_s))
    settings = {"LOCAL_INFERENCE": "true", "OLLAMA_HOST": ollama.base_url,
                "COMFYUI_HOSTS": ",".join(d.base_url for d in comfy),
                "HUNYUAN_BASE_URLS": ",".join(d.base_url for d in hunyuan), "COSYVOICE_BASE_URL": cosy.base_url}
    return Doubles(ollama, comfy, hunyuan, cosy, settings)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def post(client: httpx.Client, path: str, body: dict[str, Any]) -> None:
    response = client.post(path, json=body)
    if response.status_code != 202:
        raise RuntimeError(f"{path}: {response.status_code} {response.text}")


def wait_all(client: httpx.Client, operation_ids: list[str], timeout_s: float = 600) -> dict[str, dict[str, Any]]:
    deadline, done = time.monotonic() + timeout_s, {}
    while len(done) < len(operation_ids):
        if time.monotonic() > deadline:
            raise TimeoutError(f"operations not finished: {set(operation_ids) - set(done)}")
        for oid in operation_ids:
            if oid not in done:
                op = client.get(f"/api/v1/operations/{oid}").json()
                if op["status"] in ("succeeded", "failed", "cancelled"):
                    if op["status"] != "succeeded":
                        raise RuntimeError(f"{oid} {op['status']}: {op.get('error')}")
                    done[oid] = op
        time.sleep(0.1)
    return done


def finished_at(op: dict[str, Any]) -> float:
    return datetime.fromisoformat(op["finished_at"]).timestamp()


def list_schedule(releases: list[float], length: float, hosts: int) -> float:
    """The end of the last of equal jobs, each started on the earliest free host no earlier than its release
    (optimal for equal lengths)."""
    free = [0.0] * hosts
    for release in sorted(releases):
        host = min(range(hosts), key=free.__getitem__)
        free[host] = max(free[host], release) + length
    return max(free)


def landings(service: ServiceProcess, story: str, asset: str) -> list[float]:
    """When each of the story's shot assets (`clip`, `keyframe`) was made, in order, from the stored story."""
    stored = json.loads((service.data_dir / "stories" / story / "story.json").read_text())
    return sorted(datetime.fromisoformat(shot[asset]["created_at"]).timestamp() for shot in stored["shots"])


def mean_length(runs: list[tuple[float, float]]) -> float:
    return sum(e - s for s, e in runs) / len(runs)


@dataclass
class Row:
    config: str
    op: str
    wall_s: float
    gpu_bound_s: float
    tail_s: float

    @property
    def bound_s(self) -> float:
        return self.gpu_bound_s + self.tail_s

    @property
    def ratio(self) -> float:
        return self.wall_s / self.bound_s


def run_stories(service: ServiceProcess, doubles: Doubles, lat: Latencies, stories: list[str], tag: str,
                hosts: int, shots: int) -> list[Row]:
    """Create then render `stories` (each phase all at once); the rows of create and render."""
    rows: list[Row] = []
    with service.client() as client:
        doubles.clear()
        sent = time.time()
        for story in stories:
            doubles.ollama.script.push(Hang(lat.llm_s))
            post(client, "/api/v1/storyboard/create", {
                "operation_id": f"{story}-c", "story_id": story, "user_id": "bench", "display_name": "Fox",
                "style": "watercolor", "script_content": SCRIPT})
        created = wait_all(client, [f"{s}-c" for s in stories])
        runs = doubles.keyframe_runs()
        gpu_bound = lat.llm_s + math.ceil(len(stories) * shots / hosts) * mean_length(runs)
        tail = max(finished_at(created[f"{s}-c"]) - landings(service, s, "keyframe")[-1] for s in stories)
        rows += [Row(tag, f"create {s}", finished_at(created[f"{s}-c"]) - sent, gpu_bound, tail) for s in stories]

        doubles.clear()
        sent = time.time()
        for story in stories:
            post(client, "/api/v1/video/render", {"operation_id": f"{story}-r", "story_id": story, "user_id": "bench"})
        rendered = wait_all(client, [f"{s}-r" for s in stories])
        runs = doubles.clip_runs()
        narrated = [i * mean_length([(s, e) for _, s, e in doubles.cosy.spans])
                    for i in range(1, len(stories) * shots + 1)]
        gpu_bound = list_schedule(narrated, mean_length(runs), hosts)
        last_gpu = max(e for _, e in runs)
        clips = {s: landings(service, s, "clip") for s in stories}
        tail = max(finished_at(rendered[f"{s}-r"]) - clips[s][-1] for s in stories)
        rows += [Row(tag, f"render {s}", finished_at(rendered[f"{s}-r"]) - sent, gpu_bound, tail) for s in stories]
        for story, landed in clips.items():
            say(f"  {tag}: {story}: clips landed (polled, downloaded, fitted, published) at "
                f"{', '.join(f'{t - sent:.1f}' for t in landed)} s; film done at "
                f"{finished_at(rendered[f'{story}-r']) - sent:.2f} s")
        say(f"  {tag}: last clip off its GPU at {last_gpu - sent:.2f} s")
        busy = sum(e - s for s, e in runs)
        span = last_gpu - min(s for s, _ in runs)
        say(f"  {tag}: clip GPUs busy {busy / (hosts * span):.0%} of the clip phase "
            f"({len(runs)} clips, {span:.1f} s on {hosts} hosts)")
    return rows


def run_config(name: str, extra: dict[str, str], story_counts: list[int], args: argparse.Namespace,
               lat: Latencies) -> list[Row]:
    rows: list[Row] = []
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        doubles = start_doubles(stack, args.hosts, lat, args.shots, Path(tmp))
        service = ServiceProcess(Path(tmp) / "data", {**SMALL, **doubles.settings, **extra}).start()
        try:
            run_stories(service, doubles, lat, ["warmup"], "warm-up", args.hosts, args.shots)  # imports, caches
            for count in story_counts:
                stories = [f"story-{count}-{i}" for i in range(count)]
                label = f"{name}, {count} {'story' if count == 1 else 'stories at once'}"
                rows += run_stories(service, doubles, lat, stories, label, args.hosts, args.shots)
        finally:
            service.stop()
    return rows


def report(rows: list[Row], args: argparse.Namespace, lat: Latencies, started: str) -> str:
    lines = [f"### {started} — {platform.processor() or platform.machine()}, {args.hosts} hosts, {args.shots} shots",
             "",
             f"Latencies: LLM {lat.llm_s:g} s, keyframe {lat.keyframe_s:g} s, clip {lat.clip_s:g} s, "
             f"TTS {lat.tts_s:g} s (one server). Command: `{' '.join(sys.argv)}`.",
             "",
             "| configuration | operation | wall s | GPU bound s | tail s | bound s | wall / bound |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.config} | {r.op} | {r.wall_s:.2f} | {r.gpu_bound_s:.2f} | {r.tail_s:.2f} | {r.bound_s:.2f} | "
              f"{r.ratio:.2f}× |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--shots", type=int, default=12)
    parser.add_argument("--only", choices=["one", "two"], help="one story, or two at once (default: both)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=value", help="a service setting")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    lat = Latencies()
    extra = dict(item.split("=", 1) for item in args.set)
    name = ", ".join(args.set) or "defaults"
    counts = {"one": [1], "two": [2]}.get(args.only or "", [1, 2])
    started = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    rows = run_config(name, extra, counts, args, lat)
    say(report(rows, args, lat, started))
    if args.json:
        args.json.write_text(json.dumps([{**r.__dict__, "bound_s": r.bound_s, "ratio": r.ratio} for r in rows],
                                        indent=2))


if __name__ == "__main__":
    main()
