"""Test-only backends, plugged in with `<STAGE>_PROVIDER=tests.fakes:<factory>`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from app.core.errors import StageError, TerminalBackendError, TransientBackendError
from app.core.settings import Settings
from app.services.backend import Readiness
from app.services.clip.base import ClipRequest
from app.services.clip.kenburns import KenBurnsAnimator
from app.services.publish.local import LocalObjectStore, media_dir
from app.services.storyboard.rules.planner import RuleBasedPlanner


class FailingPlanner:
    async def ready(self) -> Readiness:
        return Readiness(ready=True, detail="fails every plan")

    async def aclose(self) -> None:
        return None

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

    async def ready(self) -> Readiness:
        return await self.inner.ready()

    async def aclose(self) -> None:
        await self.inner.aclose()


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

    async def aclose(self) -> None:
        return None


def broken_clips(_: Settings) -> BrokenAnimator:
    return BrokenAnimator()


class RefusingRenderer:
    """A text-to-image service that refuses every prompt, as a vendor's moderation does."""

    async def render(self, request: object, out_path: Path) -> None:
        raise TerminalBackendError("refusing-t2i", "DataInspectionFailed",
                                   "input data may contain inappropriate content")

    async def ready(self) -> Readiness:
        return Readiness(ready=True, detail="refuses everything")

    async def aclose(self) -> None:
        return None


def refusing_keyframes(_: Settings) -> RefusingRenderer:
    return RefusingRenderer()


class CorruptAnimator:
    """An image-to-video backend whose 'MP4' is garbage bytes: composition must say so, not crash."""

    async def animate(self, request: ClipRequest, out_path: Path) -> None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2048))

    async def ready(self) -> Readiness:
        return Readiness(ready=True, detail="writes corrupt clips")

    async def aclose(self) -> None:
        return None


def corrupt_clips(_: Settings) -> CorruptAnimator:
    return CorruptAnimator()


class RefusingStore(LocalObjectStore):
    """Local storage whose bucket refuses the final film (a full or read-only bucket, a revoked grant)."""

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        if key.endswith("/video.mp4"):
            raise TerminalBackendError("refusing-store", "AccessDenied", "the bucket refused the write")
        await super().put_file(key, path, content_type)


def refusing_store(settings: Settings) -> RefusingStore:
    return RefusingStore(media_dir(settings), settings.server.public_base_url)


class SlowRenderer:
    """The storyboard card, but each keyframe takes SLOW_KEYFRAME_S seconds: operations stay running a while."""

    def __init__(self, settings: Settings):
        from app.services.keyframe.card import StoryboardCardRenderer

        self.inner = StoryboardCardRenderer(settings)
        self.delay_s = float(os.environ.get("SLOW_KEYFRAME_S", "0.3"))

    async def render(self, request: object, out_path: Path) -> None:
        await asyncio.sleep(self.delay_s)
        await self.inner.render(request, out_path)  # type: ignore[arg-type]

    async def ready(self) -> Readiness:
        return Readiness(ready=True, detail="slow cards")

    async def aclose(self) -> None:
        return None


def slow_keyframes(settings: Settings) -> SlowRenderer:
    return SlowRenderer(settings)


class SlowPlanner:
    """The rule-based planner, but each plan takes SLOW_PLAN_S seconds of waiting (no CPU): slow,
    cheap operations for the synchronous-wait benchmark (bench/sync_wait.py)."""

    def __init__(self) -> None:
        self.inner = RuleBasedPlanner()
        self.delay_s = float(os.environ.get("SLOW_PLAN_S", "30"))

    async def plan(self, **kwargs: Any) -> Any:
        await asyncio.sleep(self.delay_s)
        return await self.inner.plan(**kwargs)

    async def revise_shot(self, **kwargs: Any) -> Any:
        return await self.inner.revise_shot(**kwargs)

    async def ready(self) -> Readiness:
        return Readiness(ready=True, detail=f"rules after {self.delay_s:g} s")

    async def aclose(self) -> None:
        return None


def slow_planner(_: Settings) -> SlowPlanner:
    return SlowPlanner()


def _log_call(kind: str, what: str, out_path: Path) -> None:
    """Append one line per backend call to CALL_LOG (shared by processes: O_APPEND lines are atomic)."""
    log = os.environ.get("CALL_LOG")
    if log:
        # out_path: …/stories/<story>/assets/<shot>/.tmp-…-<file>
        story, shot = out_path.parent.parent.parent.name, out_path.parent.name
        with open(log, "a") as handle:
            handle.write(f"{kind} {what} {story} {shot} {os.getpid()}\n")


class CountingAnimator(SlowAnimator):
    """SlowAnimator that records each call's start and end in CALL_LOG (scale-out tests count redone shots)."""

    async def animate(self, request: ClipRequest, out_path: Path) -> None:
        _log_call("start", "clip", out_path)
        await super().animate(request, out_path)
        _log_call("end", "clip", out_path)


def counting_clips(settings: Settings) -> CountingAnimator:
    return CountingAnimator(settings)


class CountingKeyframes:
    """The embedded keyframe renderer, each call recorded in CALL_LOG."""

    def __init__(self, settings: Settings):
        from app.services.registry import load_factory

        self.inner: Any = load_factory("keyframe", "embedded")(settings)

    async def render(self, request: Any, out_path: Path) -> None:
        _log_call("start", "keyframe", out_path)
        await self.inner.render(request, out_path)
        _log_call("end", "keyframe", out_path)

    async def ready(self) -> Readiness:
        return await self.inner.ready()  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        await self.inner.aclose()


def counting_keyframes(settings: Settings) -> CountingKeyframes:
    return CountingKeyframes(settings)
