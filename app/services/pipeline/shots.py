"""Running one piece of work per shot, all at once, collecting every failure.

The shots do not take turns here: each backend call waits for its backend's own slot (a GPU host, an
API's CONCURRENCY, shared fairly between stories, see app/services/scheduling.py) and, when
MAX_PARALLEL_SHOTS is set, for one of the operation's slots of that stage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from app.core.errors import StageError
from app.models.story import Shot
from app.services.pipeline.failures import stage_step

#: Pipeline order: of several shots' failures, the one in the earliest stage is reported.
STAGE_ORDER = ("storyboard", "keyframe", "narration", "clip", "enhance", "compose", "publish")


async def for_each_shot(shots: list[Shot], work: Callable[[Shot], Awaitable[None]], *,
                        stage: str | None = None) -> None:
    """Run `work` for every shot at once; raise the failure in the earliest stage (then of the earliest shot)
    after all end.

    Shots that succeed keep their results even when a sibling fails, so a retry redoes only the rest.
    With `stage`, each failure is `<stage>_failed` naming its shot (see failures.stage_step); without it,
    `work` names its own stages.
    """

    async def guarded(shot: Shot) -> None:
        if stage is None:
            await work(shot)
            return
        with stage_step(stage, shot_id=shot.id):
            await work(shot)

    outcomes = await asyncio.gather(*(guarded(s) for s in shots), return_exceptions=True)
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if failures:
        raise min(failures, key=_stage_rank)


def _stage_rank(failure: BaseException) -> int:
    stage = failure.stage if isinstance(failure, StageError) else None
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)
