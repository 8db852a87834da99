"""FFmpeg runs below the service's priority once configured, so the API keeps answering on busy cores."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from app.core.settings import Settings
from app.services import ffmpeg
from app.services.keyframe.card import StoryboardCardRenderer
from app.services.storyboard.rules import planner as rules_planner


async def test_configured_ffmpeg_runs_nicer_than_the_service(tmp_path: Path) -> None:
    ffmpeg.configure(tmp_path / "run", 2, nice=7)
    try:
        task = asyncio.create_task(ffmpeg.run_ffmpeg(["-f", "lavfi", "-i", "anullsrc", "-t", "30", "-f", "null", "-"],
                                                     timeout_s=60))
        seen: list[int] = []
        for _ in range(100):
            await asyncio.sleep(0.05)
            for record in (tmp_path / "run").glob("*"):
                stat = Path(f"/proc/{record.name}/stat").read_text().rsplit(")", 1)[1].split()
                seen.append(int(stat[16]))  # field 19 of /proc/<pid>/stat: nice
            if os.nice(0) + 7 in seen:  # nice(1) sets it, then becomes FFmpeg
                break
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        ffmpeg.configure(None, None)
    assert seen and seen[-1] == os.nice(0) + 7


def test_the_embedded_planner_and_card_processes_run_nicer_than_the_service() -> None:
    settings = Settings(EMBEDDED_PROCESSES=1, EMBEDDED_NICE=5)
    planner, cards = rules_planner.create(settings), StoryboardCardRenderer(settings)
    try:
        assert asyncio.run(planner.work.run(os.nice, 0)) == os.nice(0) + 5
        assert asyncio.run(cards.work.run(os.nice, 0)) == os.nice(0) + 5
    finally:
        asyncio.run(planner.aclose())
        asyncio.run(cards.aclose())
