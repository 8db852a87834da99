"""Enhancement benchmark: what `enhance` (2× frames, 2× size) costs on the CPU, next to a plain render.

One story on the embedded backends, each step in its own server process (so its CPU time, and that of every
FFmpeg it ran, is counted exactly: getrusage(RUSAGE_CHILDREN) once the process has exited):

    create     the storyboard (not measured)
    plain      narration, Ken Burns clips and composition at VIDEO_WIDTH×VIDEO_HEIGHT, VIDEO_FPS
    enhance    the same story with `enhance: true, multi: 2, scale: 2` on top: the enhancement of every
               clip and a composition at 2× size and 2× rate (narration and clips are current); one run per
               engine variant, each a fresh enhancement (its fingerprint differs):
                 resynthesize   embedded, default: Ken Burns clips made again at the target size and rate
                 blend          embedded, ENHANCE_RESYNTHESIZE=false: minterpolate blend + lanczos
                 mci            embedded, ENHANCE_RESYNTHESIZE=false, ENHANCE_EMBEDDED_INTERP=mci
                 service        the video_enhance service (started here, FFmpeg engine: mci + lanczos,
                                its defaults CRF 18 `medium`), at ENHANCE_URL
                 skipped        ENHANCE_URL pointing nowhere: every shot skipped, so this is the composition
                                at 2× size and rate alone (the composition scales the plain clips)

Usage:

    .venv/bin/python bench/enhance.py                          # 1280×720@25 → 2560×1440@50, all variants
    .venv/bin/python bench/enhance.py --variants resynthesize blend --width 640 --height 360 --fps 12
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
#: A one-line premise: the rule planner makes a six-shot story arc of it.
SCRIPT = "A lighthouse keeper finds a letter in a bottle."
VARIANTS: dict[str, dict[str, str]] = {
    "resynthesize": {},
    "blend": {"ENHANCE_RESYNTHESIZE": "false", "ENHANCE_EMBEDDED_INTERP": "blend"},
    "mci": {"ENHANCE_RESYNTHESIZE": "false", "ENHANCE_EMBEDDED_INTERP": "mci"},
    "service": {},
    "skipped": {"ENHANCE_URL": "http://127.0.0.1:9", "ENHANCE_RETRIES": "0"},
}
IDS = {"story_id": "bench-enhance", "user_id": "bench"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited at start-up")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def run_step(data_dir: Path, env: dict[str, str], path: str, body: dict[str, Any], *,
             service_env: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Start the server (and the enhancement service), run one operation, stop them; its wall and CPU time."""
    cpu_before, started = cpu_of_children(), time.monotonic()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        if service_env is not None:
            port = free_port()
            work = data_dir.parent / "video-enhance"
            service = subprocess.Popen([sys.executable, "-m", "video_api.main"], cwd=REPO / "video_enhance",
                                       env={**os.environ, "ENHANCE_PORT": str(port), "ENHANCE_WORK_DIR": str(work),
                                            "ENHANCE_LOG_LEVEL": "WARNING", **service_env})
            procs.append(service)
            wait_healthy(f"http://127.0.0.1:{port}/health", service)
            env = {**env, "ENHANCE_URL": f"http://127.0.0.1:{port}"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "app.main"], cwd=REPO,
                                  env={**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "DATA_DIR": str(data_dir),
                                       "PUBLIC_BASE_URL": base, "LOG_LEVEL": "WARNING", **env})
        procs.append(server)
        wait_healthy(f"{base}/healthz", server)
        with httpx.Client(base_url=base, timeout=30) as client:
            answer = client.post(path, json=body)
            answer.raise_for_status()
            while (op := client.get(f"/api/v1/operations/{body['operation_id']}").json())["status"] not in (
                    "succeeded", "failed", "cancelled"):
                time.sleep(0.5)
        if op["status"] != "succeeded":
            raise RuntimeError(f"{body['operation_id']} {op['status']}: {op['error']}")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(60)
    return {"op": op, "wall_s": time.monotonic() - started, "cpu_s": cpu_of_children() - cpu_before}


def video_facts(path: Path) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height,r_frame_rate,nb_frames", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    stream = json.loads(out)["streams"][0]
    return {"size": f"{stream['width']}×{stream['height']}", "fps": stream["r_frame_rate"].split("/")[0],
            "frames": int(stream["nb_frames"])}


def film_path(data_dir: Path, op: dict[str, Any]) -> Path:
    key = op["result"]["video_url"].split("/media/", 1)[1].split("?")[0]
    return data_dir / "media" / key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--work", type=Path, default=Path("/tmp/story2video-bench-enhance"))
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    data_dir = (args.work / "data").resolve()
    env = {"VIDEO_WIDTH": str(args.width), "VIDEO_HEIGHT": str(args.height), "VIDEO_FPS": str(args.fps),
           "MIN_FREE_DISK_MB": "0"}
    run_step(data_dir, env, "/api/v1/storyboard/create",
             {**IDS, "operation_id": "create", "display_name": "Lighthouse", "style": "watercolor",
              "script_content": SCRIPT})
    rows = []
    plain = run_step(data_dir, env, "/api/v1/video/render", {**IDS, "operation_id": "plain"})
    film_s = float(plain["op"]["result"]["duration"])
    shots = len(plain["op"]["result"]["shots"])
    rows.append({"run": "plain render (narration, clips, compose)", **plain,
                 **video_facts(film_path(data_dir, plain["op"]))})
    for name in args.variants:
        service_env = {"ENHANCE_SR_ENGINE": "ffmpeg", "ENHANCE_INTERP_ENGINE": "ffmpeg"} if name == "service" else None
        step = run_step(data_dir, {**env, **VARIANTS[name]}, "/api/v1/video/render",
                        {**IDS, "operation_id": f"enhance-{name}", "enhance": True, "multi": 2, "scale": 2},
                        service_env=service_env)
        methods = {s["method"] for s in step["op"]["result"]["enhancement"]["shots"]} or {"none"}
        rows.append({"run": f"enhance 2×/2× on top: {name} ({', '.join(sorted(methods))})", **step,
                     **video_facts(film_path(data_dir, step["op"]))})
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split()[2]
    lines = [f"\n{shots} shots, {film_s:.1f} s film; {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; FFmpeg {ffmpeg}\n",
             "| run | film | wall s | CPU s | CPU s per film s |", "|---|---|---|---|---|"]
    lines += [f"| {row['run']} | {row['size']} @ {row['fps']}, {row['frames']} frames | {row['wall_s']:.1f} | "
              f"{row['cpu_s']:.1f} | {row['cpu_s'] / film_s:.2f} |" for row in rows]
    sys.stdout.write("\n".join(lines) + "\n")
    if args.json:
        args.json.write_text(json.dumps({"shots": shots, "film_s": film_s, "rows": [
            {k: v for k, v in row.items() if k != "op"} for row in rows]}, indent=2))


if __name__ == "__main__":
    main()
