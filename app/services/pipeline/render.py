"""video_render: narrate every shot, animate its clip to the narration's length, compose, publish.

Each shot goes narration → clip on its own: its clip starts as soon as its narration is done (and a GPU
is free), never waiting for other shots' narration; composition starts when the last clip lands. The
backends' slots pace the shots (see shots.py). The stage events still come in pipeline order, once
each: narration when the last narration is done, clip when the last clip is, then compose and publish.

Each step first checks whether its asset is current (fingerprints.py), so a resumed or repeated
render redoes only stale or missing work.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from app.core.errors import StageError
from app.models import freshness as fp
from app.models.operation import Operation
from app.models.requests import RenderVideoRequest
from app.models.story import Asset, FinalVideo, Keyframe, Shot, ShotStatus, Story, StoryStatus
from app.services import compose
from app.services.chain import Outcome
from app.services.clip.base import ClipRequest
from app.services.narration.base import SpeechRequest
from app.services.pipeline.context import PipelineContext, producing, publish_file
from app.services.pipeline.enhance import composition_clip, enhance_all, enhancement_summary
from app.services.pipeline.failures import stage_step
from app.services.pipeline.keyframes import set_degraded
from app.services.pipeline.reporter import OperationReporter
from app.services.pipeline.shots import for_each_shot
from app.services.scheduling import FairSlots

#: Progress units of the compose stage (a shot's narration or clip is one unit), filled as FFmpeg encodes.
COMPOSE_UNITS = 10
#: Least time between two progress writes while composing.
COMPOSE_PROGRESS_INTERVAL_S = 1.0


async def run_render(ctx: PipelineContext, op: Operation, reporter: OperationReporter) -> dict[str, Any]:
    story = await _load(ctx, op)
    total = 2 * len(story.shots) + COMPOSE_UNITS + 1
    await reporter.begin("narration", total=total)
    story = await _render_shots(ctx, story, reporter)
    story = await enhance_all(ctx, story, render_options(op.request), reporter)
    await reporter.begin("compose")
    progress = CompositionProgress(reporter, COMPOSE_UNITS)
    with stage_step("compose"):
        video = await _compose(ctx, story, render_options(op.request), progress)
    await progress.finish()
    await reporter.stage_done("compose")
    await reporter.begin("publish")
    with stage_step("publish"):
        story = await _publish(ctx, story, video)
    await reporter.advance()
    await reporter.stage_done("publish")
    return {"video_key": video.key, "subtitle_key": video.subtitle_key, "subtitle_vtt_key": video.vtt_key,
            "cover_key": video.cover_key, "duration": video.duration, "shot_ids": [s.id for s in story.shots],
            "enhancement": enhancement_summary(ctx, story, render_options(op.request))}


def render_options(request: dict[str, Any]) -> dict[str, Any]:
    """The composition options a stored render request set (unset ones follow the settings)."""
    return RenderVideoRequest.model_validate(request).composition()


class CompositionProgress:
    """Turns the compose engine's share of work done into the operation's progress units.

    Writes at most once per `interval_s` (the operation is persisted on each write), and only when
    a whole unit more is done.
    """

    def __init__(self, reporter: OperationReporter, units: int, *, interval_s: float = COMPOSE_PROGRESS_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self.reporter = reporter
        self.units = units
        self.interval_s = interval_s
        self.clock = clock
        self.sent = 0
        self._last = -math.inf

    async def __call__(self, share: float) -> None:
        done = min(self.units, math.floor(share * self.units + 1e-9))
        if done > self.sent and self.clock() - self._last >= self.interval_s:
            await self._send(done)

    async def finish(self) -> None:
        """Count the stage as fully done."""
        if self.sent < self.units:
            await self._send(self.units)

    async def _send(self, done: int) -> None:
        await self.reporter.advance(done - self.sent)
        self.sent = done
        self._last = self.clock()


async def _load(ctx: PipelineContext, op: Operation) -> Story:
    story = await ctx.store.get_story(op.story_id)
    if story is None or not story.shots:
        raise StageError("storyboard_missing", "the story has no storyboard to render", stage="narration")
    missing = [s.id for s in story.shots if s.keyframe is None]
    if missing:
        raise StageError("keyframe_missing", f"shots without a keyframe: {', '.join(missing)}",
                         stage="narration", shot_id=missing[0])

    def start(s: Story) -> None:
        s.status = StoryStatus.generating

    return await ctx.store.update_story(story.story_id, start)


async def _render_shots(ctx: PipelineContext, story: Story, reporter: OperationReporter) -> Story:
    """Narrate and animate every shot, each shot's clip right after its own narration."""
    stages = ShotStages(ctx, story, reporter)
    async with reporter.noting():
        await for_each_shot(story.shots, stages.run)
    return await _reload(ctx, story)


class ShotStages:
    """One shot's narration → clip, with the count of shots still to finish each stage (the last one in a
    stage emits its event). MAX_PARALLEL_SHOTS, when set, bounds each stage's backend calls per operation."""

    def __init__(self, ctx: PipelineContext, story: Story, reporter: OperationReporter):
        self.ctx, self.story, self.reporter = ctx, story, reporter
        self.size = ctx.output_size(story.aspect_ratio)
        self.left = {"narration": len(story.shots), "clip": len(story.shots)}
        limit = ctx.settings.stages.MAX_PARALLEL_SHOTS
        self.slots = {"narration": FairSlots(limit), "clip": FairSlots(limit)}

    async def run(self, shot: Shot) -> None:
        with self.step(shot, "narration"):
            shot = await self.narrate(shot)
        await self.finished("narration")
        with self.step(shot, "clip"):
            await self.animate(shot)
        await self.finished("clip")

    @contextmanager
    def step(self, shot: Shot, stage: str) -> Iterator[None]:
        """The shot's `stage`: its failures are `<stage>_failed` and mark the shot failed; its backends report."""
        try:
            with stage_step(stage, shot_id=shot.id), self.reporter.shot_scope(shot.id, stage):
                yield
        except Exception:
            self.reporter.note(shot.id, stage, "failed")
            raise

    async def finished(self, stage: str) -> None:
        self.left[stage] -= 1
        if self.left[stage]:
            return
        await self.reporter.stage_done(stage)
        if stage == "narration":
            await self.reporter.begin("clip")

    async def narrate(self, shot: Shot) -> Shot:
        """The shot with its current narration, made now unless it exists."""
        ctx, story = self.ctx, self.story
        if _kept(ctx, story, shot.audio, fp.audio_is_current(shot, story, ctx.settings)):
            self.reporter.note(shot.id, "narration", "pending", advance=1)
            return shot
        self.reporter.note(shot.id, "narration", "rendering")
        fingerprint = fp.audio_fingerprint(shot, story, ctx.settings)
        file = f"{shot.id}/narration_{fingerprint}.wav"
        path = ctx.asset_path(story, file)
        path.parent.mkdir(parents=True, exist_ok=True)
        request = SpeechRequest(text=shot.narration, language=story.language, tone=shot.tone)
        async with self.slots["narration"].slot():
            with producing(path) as tmp:
                outcome = await ctx.providers.narration.call(lambda speaker: speaker.synthesize(request, tmp))
        asset = await _publish_asset(ctx, story, shot, file, "audio/wav", fingerprint, outcome, outcome.value)
        await _attach(ctx, story, shot, "audio", asset, stage="narration", degraded=outcome.degraded)
        self.reporter.note(shot.id, "narration", "pending", advance=1)
        return shot.model_copy(update={"audio": asset})

    async def animate(self, shot: Shot) -> None:
        """Make the shot's clip unless it is current: the narration's length, on the clip backend."""
        ctx, story = self.ctx, self.story
        if _kept(ctx, story, shot.clip, fp.clip_is_current(shot, story, ctx.settings)):
            self.reporter.note(shot.id, "clip", "done", advance=1)
            return
        self.reporter.note(shot.id, "clip", "rendering")
        audio, keyframe = required(shot, "audio", shot.audio), required(shot, "keyframe", shot.keyframe)
        duration = fp.shot_duration(audio.duration or 0.0, ctx.settings)
        fingerprint = fp.clip_fingerprint(shot, story, ctx.settings, duration)
        file = f"{shot.id}/clip_{fingerprint}.mp4"
        path = ctx.asset_path(story, file)
        width, height = self.size
        request = ClipRequest(keyframe_path=ctx.asset_path(story, keyframe.file), prompt=shot.detail,
                              prompts=shot.prompts, camera=shot.camera, duration=duration, width=width, height=height,
                              fps=ctx.settings.compose.fps, seed=shot.sequence)
        async with self.slots["clip"].slot():
            with producing(path) as tmp:
                outcome = await ctx.providers.clip.call(lambda animator: animator.animate(request, tmp))
        asset = await _publish_asset(ctx, story, shot, file, "video/mp4", fingerprint, outcome, duration)
        await _attach(ctx, story, shot, "clip", asset, stage="clip", degraded=outcome.degraded, done=True)
        self.reporter.note(shot.id, "clip", "done", advance=1)


def _kept(ctx: PipelineContext, story: Story, asset: Asset | None, current: bool) -> bool:
    """Whether a shot's asset is current and on disk, so it is not made again."""
    return asset is not None and current and ctx.asset_path(story, asset.file).exists()


async def _compose(ctx: PipelineContext, story: Story, render: dict[str, Any],
                   progress: CompositionProgress) -> FinalVideo:  # fmt: skip
    fingerprint = fp.video_fingerprint(story, ctx.settings, render)
    folder = f"final_{fingerprint}"
    out_dir = ctx.asset_path(story, folder)
    names = {"video": f"{folder}/video.mp4", "subtitles": f"{folder}/subtitles.srt",
             "vtt": f"{folder}/subtitles.vtt", "cover": f"{folder}/cover.jpg"}
    if not all(ctx.asset_path(story, name).exists() for name in names.values()):
        options = fp.compose_options(story, ctx.settings, render)
        if options.music_path is not None and not options.music_path.is_file():
            raise StageError("bgm_not_found", f"background music {options.music_path.name!r} is not in the music "
                             "folder", stage="compose")
        media = [compose.ShotMedia(shot_id=s.id, clip_path=composition_clip(ctx, story, s, render),
                                   audio_path=ctx.asset_path(story, required(s, "audio", s.audio).file),
                                   duration=clip_seconds(s), narration=s.narration) for s in story.shots]
        out_dir.mkdir(parents=True, exist_ok=True)
        await compose.compose_story(shots=media, out_dir=out_dir, options=options, on_progress=progress)
    return FinalVideo(
        key=ctx.asset_key(story, names["video"]), file=names["video"], fingerprint=fingerprint,
        duration=sum(clip_seconds(s) for s in story.shots),
        subtitle_key=ctx.asset_key(story, names["subtitles"]), subtitle_file=names["subtitles"],
        vtt_key=ctx.asset_key(story, names["vtt"]), vtt_file=names["vtt"],
        cover_key=ctx.asset_key(story, names["cover"]), cover_file=names["cover"], render_options=render,
    )


async def _publish(ctx: PipelineContext, story: Story, video: FinalVideo) -> Story:
    await publish_file(ctx, video.key, ctx.asset_path(story, video.file), "video/mp4")
    await publish_file(ctx, video.subtitle_key, ctx.asset_path(story, video.subtitle_file), "application/x-subrip")
    if video.vtt_key and video.vtt_file:
        await publish_file(ctx, video.vtt_key, ctx.asset_path(story, video.vtt_file), "text/vtt")
    await publish_file(ctx, video.cover_key, ctx.asset_path(story, video.cover_file), "image/jpeg")

    def attach(s: Story) -> None:
        s.video = video
        s.status = StoryStatus.ready

    return await ctx.store.update_story(story.story_id, attach)


async def _attach(ctx: PipelineContext, story: Story, shot: Shot, field: str, asset: Asset, *, stage: str,
                  degraded: str | None, done: bool = False) -> None:
    """Store a shot's new audio or clip, and whether a fallback backend made it."""

    def change(current: Story) -> None:
        target = current.shot(shot.id)
        if target is None:
            return
        setattr(target, field, asset)
        set_degraded(target, stage, degraded)
        if done:
            target.status = ShotStatus.done

    await ctx.store.update_story(story.story_id, change)


async def _publish_asset(ctx: PipelineContext, story: Story, shot: Shot, file: str, content_type: str,
                         fingerprint: str, outcome: Outcome[Any], duration: float) -> Asset:
    """Publish a produced file and describe it as the shot's asset of `duration` seconds."""
    key = ctx.asset_key(story, file)
    await publish_file(ctx, key, ctx.asset_path(story, file), content_type, shot_id=shot.id)
    return Asset(key=key, file=file, fingerprint=fingerprint, duration=duration, backend=outcome.backend,
                 degraded=outcome.degraded is not None)


A = TypeVar("A", Asset, Keyframe)


def required(shot: Shot, what: str, asset: A | None) -> A:
    """A shot's asset that an earlier step made; its absence is a broken story, said so by name."""
    if asset is None:
        raise StageError(f"{what}_missing", f"{shot.id} has no {what}", stage="compose", shot_id=shot.id)
    return asset


def clip_seconds(shot: Shot) -> float:
    clip = required(shot, "clip", shot.clip)
    if clip.duration is None:
        raise StageError("clip_missing", f"{shot.id} has a clip of unknown length", stage="compose", shot_id=shot.id)
    return clip.duration


async def _reload(ctx: PipelineContext, story: Story) -> Story:
    current = await ctx.store.get_story(story.story_id)
    if current is None:
        raise StageError("story_not_found", f"story {story.story_id} was deleted", stage="compose")
    return current
