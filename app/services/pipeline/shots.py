"""Running one piece of work per shot in parallel, bounded, collecting every failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from app.models.story import Shot
from app.services.pipeline.failures import stage_step


async def for_each_shot(shots: list[Shot], work: Callable[[Shot], Awaitable[None]], *, limit: int,
                        stage: str) -> None:
    """Run `work` for every shot, at most `limit` at once; raise the first shot's failure after all end.

    Shots that succeed keep their results even when a sibling fails, so a retry redoes only the rest.
    Each failure is `<stage>_failed` naming its shot (see failures.stage_step).
    """
    semaphore = asyncio.Semaphore(max(limit, 1))

    async def guarded(shot: Shot) -> None:
        async with semaphore:
            with stage_step(stage, shot_id=shot.id):
                await work(shot)

    outcomes = await asyncio.gather(*(guarded(s) for s in shots), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
