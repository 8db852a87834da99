"""What waiting requests cost the server: 100 synchronous requests held open on slow operations.

One server process (uvicorn, `python -m app.main`) whose storyboard planner sleeps SLOW_PLAN_S seconds
(`tests.fakes:slow_planner`: an asyncio sleep, no CPU), so its operations are slow and cheap. Three
phases, each measured for `--window` seconds while /healthz is probed every 20 ms on its own
connection (latency seen by the client: p50, p99, max) and the server's RSS and thread count are read
from /proc (Linux):

  idle     nothing admitted;
  ops      N create operations admitted with `Prefer: respond-async` (202): N slow operations running;
  waiting  the same N requests sent again with `Prefer: wait=W` (same operation_id: they wait for the
           operations admitted above): N connections held open, N waiters.

`waiting − ops` is the cost of the waiters alone. At the end every waiting request must have answered
504 `operation_timeout` (the operations outlive W). Not part of the test run.

    .venv/bin/python bench/sync_wait.py                 # 100 waiters, 15 s windows
    .venv/bin/python bench/sync_wait.py --requests 500 --json bench/results/sync_wait.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.server import ServiceProcess  # noqa: E402


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS (KiB) and Threads of a process, from /proc/<pid>/status."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "Threads"):
            values[name] = int(rest.split()[0])
    return values


async def probe_health(base_url: str, window_s: float, pid: int) -> dict[str, Any]:
    """GET /healthz every 20 ms for `window_s`; latencies in ms; peak RSS and threads seen meanwhile."""
    latencies: list[float] = []
    peak_rss, peak_threads = 0, 0
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        await client.get("/healthz")  # connect first: the probe measures requests, not the handshake
        end = time.perf_counter() + window_s
        while time.perf_counter() < end:
            started = time.perf_counter()
            response = await client.get("/healthz")
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
            status = proc_status(pid)
            peak_rss, peak_threads = max(peak_rss, status["VmRSS"]), max(peak_threads, status["Threads"])
            await asyncio.sleep(max(0.0, 0.02 - (time.perf_counter() - started)))
    ordered = sorted(latencies)
    return {
        "samples": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "max_ms": round(ordered[-1], 2),
        "rss_mib": round(peak_rss / 1024, 1),
        "threads": peak_threads,
    }


def _answers(tasks: list[asyncio.Task[httpx.Response]]) -> list[str]:
    return [repr(t.exception()) if t.exception() else f"{t.result().status_code} {t.result().text[:200]}"
            for t in tasks]


def create_body(i: int) -> dict[str, str]:
    return {"operation_id": f"bench-op-{i:04d}", "story_id": f"bench-story-{i:04d}", "user_id": "bench",
            "display_name": "bench", "script_content": "A fox looks for the moon and finds it in a puddle.",
            "style": ""}


async def measure(requests: int = 100, wait_s: int = 40, window_s: float = 15.0,
                  data_dir: Path | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Run the phases against a fresh server; the figures as a dict (see `markdown`). `quick` measures
    only the two that compare (ops, waiting), as the test does."""
    if wait_s < window_s + 5:
        raise ValueError("the wait must outlast the measuring window by a few seconds")
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="story2video-syncbench-")) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = ServiceProcess(data_dir, {
        "STORYBOARD_PROVIDER": "tests.fakes:slow_planner", "STORYBOARD_FALLBACK": "none",
        "SLOW_PLAN_S": str(window_s * 4 + wait_s + 60), "LOG_LEVEL": "WARNING",
    }).start()
    assert server.proc is not None
    pid = server.proc.pid
    phases: dict[str, Any] = {}
    try:
        if not quick:
            await asyncio.sleep(1.0)
            phases["idle"] = await probe_health(server.base_url, window_s, pid)
        # the client forgets idle connections before uvicorn closes them (5 s): no reuse of a closing one
        limits = httpx.Limits(max_connections=requests + 10, max_keepalive_connections=requests + 10,
                              keepalive_expiry=2.0)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=wait_s + 60, limits=limits) as client:
            admitted = await asyncio.gather(*(
                client.post("/api/v1/storyboard/create", json=create_body(i), headers={"Prefer": "respond-async"})
                for i in range(requests)))
            assert all(r.status_code == 202 for r in admitted), {r.status_code for r in admitted}
            phases["ops"] = await probe_health(server.base_url, window_s, pid)

            started = time.perf_counter()
            waiting = [asyncio.create_task(client.post(
                "/api/v1/storyboard/create", json=create_body(i), headers={"Prefer": f"wait={wait_s}"}))
                for i in range(requests)]
            await asyncio.sleep(2.0)  # all connected and waiting
            early = [t for t in waiting if t.done()]
            assert not early, f"{len(early)} waiting requests answered early: {_answers(early)[:3]}"
            phases["waiting"] = await probe_health(server.base_url, window_s, pid)
            answers = await asyncio.gather(*waiting)
            held_s = time.perf_counter() - started
        codes = sorted({r.status_code for r in answers})
        timeouts = sum(r.status_code == 504 and r.json()["code"] == "operation_timeout" for r in answers)
        if not quick:
            phases["after"] = await probe_health(server.base_url, min(window_s, 5.0), pid)
    finally:
        server.stop()
    return {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "requests": requests, "wait_s": wait_s, "window_s": window_s,
        "answers": {"status_codes": codes, "operation_timeout": timeouts, "held_s": round(held_s, 1)},
        "phases": phases,
        "waiter_cost_kib": round((phases["waiting"]["rss_mib"] - phases["ops"]["rss_mib"]) * 1024 / requests,
                                 1),
    }


def markdown(result: dict[str, Any]) -> str:
    rows = ["| phase | /healthz p50 ms | p99 ms | max ms | samples | server RSS MiB | threads |",
            "|---|---|---|---|---|---|---|"]
    names = {"idle": "idle", "ops": f"{result['requests']} slow operations (202)",
             "waiting": f"+ {result['requests']} requests waiting (`Prefer: wait={result['wait_s']}`)",
             "after": "after the 504s"}
    for key, name in names.items():
        p = result["phases"][key]
        rows.append(f"| {name} | {p['p50_ms']} | {p['p99_ms']} | {p['max_ms']} | {p['samples']} | "
                    f"{p['rss_mib']} | {p['threads']} |")
    answers = result["answers"]
    return "\n".join([
        f"### {result['when']} — {result['machine']}", "",
        *rows, "",
        f"Waiting requests: {result['requests']}, answered {answers['status_codes']} "
        f"({answers['operation_timeout']} × 504 `operation_timeout`) after {answers['held_s']} s. "
        f"RSS growth from the waiters: {result['waiter_cost_kib']} KiB per waiting request.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--wait", type=int, default=40, help="Prefer: wait=N of the waiting requests")
    parser.add_argument("--window", type=float, default=15.0, help="seconds each phase is measured")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.wait < args.window + 5:
        parser.error("--wait must outlast the measuring window by a few seconds")
    result = asyncio.run(measure(args.requests, args.wait, args.window))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))  # noqa: T201


if __name__ == "__main__":
    main()
