"""Running one piece of work per shot in parallel, bounded, collecting every failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from loguru import logger

from app.core.errors import StageError
from app.models.story import Shot
from app.services.backend import BackendError
from app.services.chain import describe


async def for_each_shot(shots: list[Shot], work: Callable[[Shot], Awaitable[None]], *, limit: int,
                        stage: str) -> None:
    """Run `work` for every shot, at most `limit` at once; raise the first shot's failure after all end.

    Shots that succeed keep their results even when a sibling fails, so a retry redoes only the rest.
    """
    semaphore = asyncio.Semaphore(max(limit, 1))

    async def guarded(shot: Shot) -> None:
        async with semaphore:
            await work(shot)

    outcomes = await asyncio.gather(*(guarded(s) for s in shots), return_exceptions=True)
    for shot, outcome in zip(shots, outcomes, strict=True):
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
        if isinstance(outcome, BaseException):
            if isinstance(outcome, StageError):
                raise outcome
            logger.opt(exception=outcome).error("{} failed for {}", stage, shot.id)
            detail = f": {describe(outcome)}" if isinstance(outcome, BackendError) else ""
            raise StageError(f"{stage}_failed", f"{stage} failed for {shot.id}{detail}", stage=stage,
                             shot_id=shot.id) from outcome
