"""The event loop is never blocked: with the loop watch on (LOOP_BLOCK_LIMIT_S), a burst of admissions while
their storyboards are drawn logs no stall past the limit — and the watch does see a stall when there is one."""

from __future__ import annotations

import asyncio
import time

import httpx
from loguru import logger

from app.core.loop_watch import LoopWatch
from tests.server import wait_for

LIMIT_S = "0.5"  # generous: on a shared 2-core CI machine a callback may lose the CPU for a while


def test_a_burst_of_creates_never_blocks_the_event_loop(start_service) -> None:
    service = start_service({"LOOP_BLOCK_LIMIT_S": LIMIT_S, "VIDEO_WIDTH": "320", "VIDEO_HEIGHT": "180",
                             "MIN_FREE_DISK_MB": "0", "EMBEDDED_PROCESSES": "1"})  # the production default

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=service.base_url, timeout=60) as client:
            async def create(n: int) -> int:
                body = {"operation_id": f"op-{n}", "story_id": f"s-{n}", "user_id": "u", "display_name": "d",
                        "script_content": "A fox looks for the moon. It climbs a hill. It sees the sea.",
                        "style": ""}
                return (await client.post("/api/v1/storyboard/create", json=body)).status_code

            return await asyncio.gather(*(create(n) for n in range(20)))

    assert set(asyncio.run(burst())) == {202}
    with service.client() as client:
        assert all(wait_for(client, f"op-{n}")["status"] == "succeeded" for n in range(20))
    log = service.log_path.read_text(errors="replace")
    assert "event loop blocked" not in log, log[-2000:]


async def test_the_watch_reports_a_stalled_loop_with_the_code_that_held_it() -> None:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="ERROR")
    watch = LoopWatch(0.1)
    watch.start()
    try:
        await asyncio.sleep(0.3)
        assert watch.blocks == 0  # a loop that ticks is not reported
        time.sleep(0.5)  # holds the loop: what a blocking call in a handler does
        await asyncio.sleep(0.2)
    finally:
        watch.stop()
        logger.remove(sink)
    assert watch.blocks == 1
    assert any("event loop blocked" in line and "time.sleep(0.5)" in line for line in lines), lines
    assert any("ran again after" in line for line in lines), lines
