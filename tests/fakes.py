"""Test-only backends, plugged in with `<STAGE>_PROVIDER=tests.fakes:<factory>`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from app.core.errors import StageError, TransientBackendError
from app.core.settings import Settings
from app.services.backend import Readiness
from app.services.clip.base import ClipRequest
from app.services.clip.kenburns import KenBurnsAnimator


class FailingPlanner:
    async def plan(self, **_: object):
        raise StageError("planner_failed", "the planner could not make a storyboard", stage="storyboard")

    async def revise_shot(self, **_: object):
        raise StageError("planner_failed", "the planner could not revise the shot", stage="storyboard")


class SlowAnimator:
    """Ken Burns, but each clip takes at least SLOW_CLIP_S seconds: room to crash mid-render."""

    def __init__(self, settings: Settings):
        self.inner = KenBurnsAnimator(settings)
        self.delay_s = float(os.environ.get("SLOW_CLIP_S", "1.5"))

    async def animate(self, request: ClipRequest, out_path: Path) -> None:
        await asyncio.sleep(self.delay_s)
        await self.inner.animate(request, out_path)


def failing_planner(_: Settings) -> FailingPlanner:
    return FailingPlanner()


def slow_clips(settings: Settings) -> SlowAnimator:
    return SlowAnimator(settings)


class BrokenAnimator:
    """An image-to-video backend that is down: every call fails, and it says so when asked."""

    async def animate(self, request: ClipRequest, out_path: Path) -> None:
        raise TransientBackendError("broken-i2v", "http_503", "GPU server unavailable")

    async def ready(self) -> Readiness:
        return Readiness(ready=False, detail="GPU server unavailable")


def broken_clips(_: Settings) -> BrokenAnimator:
    return BrokenAnimator()
