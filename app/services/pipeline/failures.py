"""One boundary per pipeline step: whatever fails inside it becomes `<stage>_failed` with the real reason.

Like httpx mapping transport errors at one place, each step of create / regenerate / render runs
inside `stage_step(stage)`; a StageError raised deeper (a precondition with its own code) passes through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from loguru import logger

from app.core.errors import ServiceError, StageError, describe


@contextmanager
def stage_step(stage: str, *, shot_id: str | None = None) -> Iterator[None]:
    """Map any failure inside the block to StageError `<stage>_failed` naming the stage, shot and reason."""
    try:
        yield
    except (asyncio.CancelledError, StageError):
        raise
    except Exception as exc:
        where = f" for {shot_id}" if shot_id else ""
        logger.opt(exception=exc).error("{} failed{}", stage, where)
        retryable = exc.retryable if isinstance(exc, ServiceError) else isinstance(exc, OSError)
        raise StageError(f"{stage}_failed", f"{stage} failed{where}: {describe(exc)}", stage=stage,
                         shot_id=shot_id, retryable=retryable) from exc
