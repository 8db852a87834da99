"""Admission under load: many concurrent clients creating stories, and reads while renders run.

Starts the real service (embedded backends, small frames) on a fresh DATA_DIR with the event-loop watch on
(LOOP_BLOCK_LIMIT_S), then:

  1. creates: `--clients` concurrent clients send `--creates` POST /storyboard/create in all, either paced
     (open loop: arrivals spread evenly over `--window` seconds, the way independent users arrive) or
     back to back (closed loop: each client sends its next request as soon as the last is answered, which
     measures saturation throughput). Every answer must be 202 or 429; every 202 is then waited for until
     its operation is terminal (none may be lost).
  2. reads during renders: 10 renders run at once while clients poll GET /operations/{id} and /healthz.

Prints a Markdown report with accept latency p50/p99 per mode, throughput, answers by status, read
latencies during renders, and how often the event loop was blocked longer than the limit.

    .venv/bin/python bench/load.py                       # defaults: 200 clients, 1000 creates
    .venv/bin/python bench/load.py --creates 400 --skip-renders
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.server import ServiceProcess  # noqa: E402

SCRIPT = "A fox looks for the moon. It climbs a hill. It sees the sea. It sleeps under a tree."
ENV = {"VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180", "VIDEO_FPS": "12", "LOG_LEVEL": "WARNING",
       "LOOP_BLOCK_LIMIT_S": "0.1", "MIN_FREE_DISK_MB": "0", "EMBEDDED_PROCESSES": "1"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000 if ordered else float("nan")


async def creates(base: str, *, clients: int, total: int, window_s: float, tag: str,
                  wait: bool = True) -> dict[str, object]:
    """Send `total` creates from `clients` clients; paced over `window_s` (0 = back to back); with `wait`, wait
    until every accepted operation has ended and count those that did not (lost)."""
    latencies: list[float] = []
    statuses: dict[int | str, int] = {}
    accepted: list[str] = []
    per_client = total // clients
    # the client forgets idle connections before uvicorn closes them (5 s): no reuse of a closing one
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        start = time.perf_counter()

        async def client(c: int) -> None:
            for i in range(per_client):
                n = c * per_client + i
                if window_s:
                    await asyncio.sleep(max(0.0, start + n * window_s / total - time.perf_counter()))
                op = f"{tag}-{n}"
                body = {"operation_id": op, "story_id": f"s-{op}", "user_id": "u", "display_name": "load",
                        "script_content": SCRIPT, "style": ""}
                sent = time.perf_counter()
                try:
                    answer = await http.post("/api/v1/storyboard/create", json=body)
                except httpx.TransportError as exc:  # counted: an answer that never came is a lost request
                    statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append(time.perf_counter() - sent)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                if answer.status_code == 202:
                    accepted.append(op)

        await asyncio.gather(*(client(c) for c in range(clients)))
        elapsed = time.perf_counter() - start
        lost = await wait_all(http, accepted) if wait else 0
    return {"mode": f"paced over {window_s:g} s" if window_s else "back to back", "requests": len(latencies),
            "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99), "max_ms": max(latencies) * 1000,
            "rate": len(latencies) / elapsed, "statuses": statuses, "lost": lost, "accepted": accepted}


async def wait_all(http: httpx.AsyncClient, operations: list[str], timeout_s: float = 3600) -> int:
    """Wait until every accepted operation is terminal; return how many are not (lost)."""
    deadline = time.monotonic() + timeout_s
    pending = set(operations)
    while pending and time.monotonic() < deadline:
        for op in list(pending):
            view = (await http.get(f"/api/v1/operations/{op}")).json()
            if view.get("status") in ("succeeded", "failed", "cancelled"):
                pending.discard(op)
        await asyncio.sleep(1.0)
    return len(pending)


async def poll_reads(http: httpx.AsyncClient, operations: list[str], seconds: float,
                     interval_s: float) -> dict[str, list[float]]:
    """20 clients each reading an operation and 5 reading /healthz, every `interval_s`, for `seconds`."""
    reads: dict[str, list[float]] = {"operations": [], "healthz": []}
    end = time.monotonic() + seconds

    async def poll(path: str, key: str) -> None:
        await asyncio.sleep(random.uniform(0, interval_s))  # independent clients, not one synchronized burst
        while time.monotonic() < end:
            sent = time.perf_counter()
            await http.get(path)
            reads[key].append(time.perf_counter() - sent)
            await asyncio.sleep(max(0.0, interval_s - (time.perf_counter() - sent)))

    await asyncio.gather(*[poll(f"/api/v1/operations/{operations[n % len(operations)]}", "operations")
                           for n in range(20)], *[poll("/healthz", "healthz") for _ in range(5)])
    return reads


async def reads_during_renders(base: str, renders: int = 10, seconds: float = 20.0,
                               interval_s: float = 0.25) -> dict[str, dict[str, object]]:
    """The same reads first with nothing running (the baseline), then while `renders` renders run."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for n in range(renders):
            body = {"operation_id": f"rc-{n}", "story_id": f"rs-{n}", "user_id": "u", "display_name": "r",
                    "script_content": SCRIPT, "style": ""}
            await http.post("/api/v1/storyboard/create", json=body)
        await wait_all(http, [f"rc-{n}" for n in range(renders)])
        idle = await poll_reads(http, [f"rc-{n}" for n in range(renders)], seconds / 2, interval_s)
        for n in range(renders):
            await http.post("/api/v1/video/render", json={"operation_id": f"rr-{n}", "story_id": f"rs-{n}",
                                                          "user_id": "u"})
        busy = await poll_reads(http, [f"rr-{n}" for n in range(renders)], seconds, interval_s)
        await wait_all(http, [f"rr-{n}" for n in range(renders)])
    return {f"{key} ({phase})": {"n": len(v), "p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99), "max_ms": max(v) * 1000}
            for phase, reads in (("idle", idle), (f"{renders} renders", busy)) for key, v in reads.items()}


def ffmpeg_count() -> int:
    return int(subprocess.run("pgrep -c -x ffmpeg || true", shell=True, capture_output=True, text=True).stdout or 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--window", type=float, default=10.0, help="seconds the paced run spreads its arrivals over")
    parser.add_argument("--skip-renders", action="store_true")
    parser.add_argument("--skip-burst", action="store_true", help="only the paced run of creates")
    parser.add_argument("--skip-creates", action="store_true", help="only the reads during renders")
    parser.add_argument("--poll-interval", type=float, default=0.25,
                        help="seconds between two reads of one polling client (25 clients)")
    parser.add_argument("--show-blocks", action="store_true", help="print the service's event-loop stall reports")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        service = ServiceProcess(data, ENV).start()
        try:
            paced = None if args.skip_creates else asyncio.run(
                creates(service.base_url, clients=args.clients, total=args.creates, window_s=args.window, tag="p"))
            burst = None if args.skip_burst or args.skip_creates else asyncio.run(
                creates(service.base_url, clients=args.clients, total=args.creates, window_s=0, tag="b"))
            reads = None if args.skip_renders else asyncio.run(
                reads_during_renders(service.base_url, interval_s=args.poll_interval))
        finally:
            log = service.log_path.read_text(errors="replace") if service.log_path.exists() else ""
            alive = service.proc is not None and service.proc.poll() is None
            service.stop()
            if not alive:
                print(log[-3000:], file=sys.stderr)
    blocked = log.count("event loop blocked for")
    print(f"## Admission under load ({os.cpu_count()} cores, {args.clients} clients, {args.creates} creates per run)\n")
    print("| mode | requests | accept p50 | accept p99 | max | requests/s | answers | lost |")
    print("|---|---|---|---|---|---|---|---|")
    for r in [r for r in (paced, burst) if r]:
        print(f"| {r['mode']} | {r['requests']} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['max_ms']:.0f} ms "
              f"| {r['rate']:.0f} | {r['statuses']} | {r['lost']} |")
    if reads:
        print(f"\n| reads every {args.poll_interval:g} s by 25 clients | reads | p50 | p99 | max |")
        print("|---|---|---|---|---|")
        for key, r in reads.items():
            print(f"| GET {key} | {r['n']} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['max_ms']:.0f} ms |")
    print(f"\nEvent loop blocked longer than {ENV['LOOP_BLOCK_LIMIT_S']} s: {blocked} times.")
    if args.show_blocks:
        print("\n".join(block for block in log.split("\n20") if "event loop blocked" in block))


if __name__ == "__main__":
    main()
