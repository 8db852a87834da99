"""Scale-out benchmark: stories per minute with 1, 2 and 4 workers, and accept latency with PostgreSQL.

Needs PostgreSQL (PG_ADMIN_URL, default postgresql://postgres@127.0.0.1:5432/postgres); each run makes
and drops its own database.

1. Throughput. One API process and N worker processes (WORKER_CONCURRENCY=1, so N jobs at once), each
   with its own DATA_DIR and a shared local MEDIA_DIR. The clip stage is a double with a fixed latency
   (`tests.fakes:slow_clips`, SLOW_CLIP_S, then a tiny Ken Burns clip), so a worker mostly waits on I/O as
   it waits on GPU servers in production; keyframes, narration and composition are the embedded CPU
   backends at 160x90. `--stories` stories are created and rendered; the rate is stories finished per
   minute from the first POST to the last render's end.
2. Accept latency. `--clients` concurrent clients POST `--creates` storyboard creates back to back to one
   API process (no worker running, so the machine's cores serve the API and PostgreSQL), paced over
   `--window` seconds (open loop, as independent users arrive) and back to back (closed loop: saturation);
   p50/p99 of the answer time; then every 202 is checked to have its operation row and its job.

    .venv/bin/python bench/scaleout.py                    # 1, 2, 4 workers; 200 clients
    .venv/bin/python bench/scaleout.py --workers 1 2 --stories 6 --skip-accept
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.load import creates  # noqa: E402
from tests.scaleout import ADMIN_URL, Cluster, admin_connect, query  # noqa: E402
from tests.server import wait_for  # noqa: E402

SCRIPT = "A fox looks for the moon. It climbs a hill. It sees the sea. It sleeps under a tree."
ENV = {"VIDEO_WIDTH": "160", "VIDEO_HEIGHT": "90", "VIDEO_FPS": "8", "SHOT_MIN_S": "1.0", "LOG_LEVEL": "WARNING",
       "CLIP_PROVIDER": "tests.fakes:slow_clips", "MAX_PARALLEL_SHOTS": "1", "WORKER_CONCURRENCY": "1",
       "FFMPEG_MAX_PROCESSES": "1", "MAX_QUEUED_OPERATIONS": "100000"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000 if ordered else float("nan")


class Database:
    def __init__(self) -> None:
        import subprocess
        import uuid

        self.name = f"s2v_bench_{uuid.uuid4().hex[:10]}"
        with admin_connect() as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"
        subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], cwd=REPO, check=True, capture_output=True,
                       env={**os.environ, "DATABASE_URL": self.url})

    def drop(self) -> None:
        with admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def throughput(workers: int, stories: int, clip_s: float) -> dict[str, float]:
    db = Database()
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp), db.url, {**ENV, "SLOW_CLIP_S": str(clip_s)})
        try:
            api = cluster.api()
            for n in range(workers):
                cluster.worker(f"w{n}")
            start = time.monotonic()
            with api.client() as client:
                for i in range(stories):
                    ids = {"story_id": f"s{i}", "user_id": "u"}
                    client.post("/api/v1/storyboard/create", json={**ids, "operation_id": f"c{i}",
                                                                   "display_name": "b", "script_content": SCRIPT,
                                                                   "style": ""}).raise_for_status()
                    client.post("/api/v1/video/render", json={**ids, "operation_id": f"r{i}"}).raise_for_status()
                final = [wait_for(client, f"r{i}", timeout_s=1800) for i in range(stories)]
            elapsed = time.monotonic() - start
            failed = sum(1 for f in final if f["status"] != "succeeded")
        finally:
            cluster.close()
            db.drop()
    return {"workers": workers, "stories": stories, "seconds": elapsed, "per_min": stories * 60 / elapsed,
            "failed": failed}


async def accepts(base: str, clients: int, total: int, *, window_s: float = 0.0,
                  tag: str = "a") -> dict[str, object]:
    """The admission load of bench/load.py, without waiting for the operations."""
    return await creates(base, clients=clients, total=total, window_s=window_s, tag=tag, wait=False)


def accept_latency(clients: int, total: int, window_s: float) -> list[dict[str, object]]:
    db = Database()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp), db.url, {**ENV, "DB_POOL_SIZE": "20"})
        try:
            api = cluster.api()
            asyncio.run(accepts(api.base_url, clients, min(total, 2 * clients), tag="w"))  # warm-up
            for tag, window in (("p", window_s), ("b", 0.0)):
                result = asyncio.run(accepts(api.base_url, clients, total, window_s=window, tag=tag))
                accepted = set(result.pop("accepted"))  # type: ignore[arg-type]
                rows = {r[0] for r in query(db.url, "SELECT operation_id FROM s2v_operations "
                                                   "WHERE operation_id LIKE %s", f"{tag}-%")}
                jobs = {r[0] for r in query(db.url, "SELECT args->>'operation_id' FROM procrastinate_jobs "
                                                   "WHERE args->>'operation_id' LIKE %s", f"{tag}-%")}
                result["missing"] = len(accepted - rows) + len(accepted - jobs)
                results.append(result)
        finally:
            cluster.close()
            db.drop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--stories", type=int, default=8)
    parser.add_argument("--clip-s", type=float, default=1.5, help="fixed latency of each clip (the GPU double)")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--creates", type=int, default=2000)
    parser.add_argument("--window", type=float, default=10.0, help="seconds the paced run spreads its arrivals over")
    parser.add_argument("--skip-accept", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    print(f"## Scale-out ({os.cpu_count()} cores, PostgreSQL at {ADMIN_URL.rsplit('@', 1)[-1]})\n")
    if not args.skip_throughput:
        runs = [throughput(n, args.stories, args.clip_s) for n in args.workers]
        base = runs[0]["per_min"] / runs[0]["workers"]
        print(f"{args.stories} stories (create + render, 4 shots, clip latency {args.clip_s} s per shot)\n")
        print("| workers | seconds | stories/min | vs one worker × N | failed |\n|---|---|---|---|---|")
        for r in runs:
            print(f"| {r['workers']:.0f} | {r['seconds']:.1f} | {r['per_min']:.2f} | "
                  f"{r['per_min'] / (base * r['workers']):.2f} | {r['failed']:.0f} |")
    if not args.skip_accept:
        print(f"\nAccept latency, {args.clients} clients, {args.creates} creates per run, no worker running\n")
        print("| mode | p50 | p99 | max | requests/s | answers | 202 without row or job |")
        print("|---|---|---|---|---|---|---|")
        for r in accept_latency(args.clients, args.creates, args.window):
            print(f"| {r['mode']} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['max_ms']:.0f} ms | "
                  f"{r['rate']:.0f} | {r['statuses']} | {r['missing']} |")

if __name__ == "__main__":
    main()
