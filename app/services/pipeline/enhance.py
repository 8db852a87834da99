"""The enhance step of a render: each shot's clip interpolated and upscaled to the film's format before composition.

The render calls `enhance_shot` for a shot once its clip is current (`enhance_all` does it for every shot, as
the enhance stage); the composition then takes `composition_clip` of each shot and composes at the film's
size and rate (`freshness.compose_options`), so subtitles are drawn once, at the final resolution, over
enhanced pictures, and the sound is the usual mix. `enhancement_summary` is what the operation's result says.

An enhanced clip is an asset like the others: named and checked by its fingerprint (the clip it was made
from, the film's size and rate, the backend), so a repeated render redoes nothing and a new `multi` or
`scale` redoes only the enhancement and the composition. When every backend of the chain fails for a shot,
ENHANCE_FALLBACK decides: `skip` (default) composes that shot from its plain clip (the composition scales it)
and records why under the shot's `degraded["enhance"]`; otherwise the render fails with `enhance_failed`.

A render that pipelines each shot (narration → clip → …) calls `enhance_shot` right after the shot's clip
instead of `enhance_all`, adds `enhance_units` to the operation's progress total, and emits the `enhance`
stage event when the last shot is enhanced (only when `enhance_units` is not 0).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loguru import logger

from app.core.errors import StageError, describe
from app.models import freshness as fp
from app.models.freshness import FilmFormat, RenderChoice
from app.models.story import EnhancedClip, Shot, Story
from app.services.clip.base import ClipRequest
from app.services.enhance.base import EnhanceRequest
from app.services.pipeline.context import PipelineContext, producing, publish_file
from app.services.pipeline.failures import stage_step
from app.services.pipeline.keyframes import set_degraded
from app.services.pipeline.reporter import OperationReporter

STAGE = "enhance"
#: The clip backend whose clips are generated (Ken Burns), so they may be made again at the film's format.
GENERATED_BY = "embedded"


def film_of(ctx: PipelineContext, story: Story, render: RenderChoice) -> FilmFormat:
    return fp.film_format(story.aspect_ratio, ctx.settings, render)


def enhance_units(ctx: PipelineContext, story: Story, render: RenderChoice) -> int:
    """Progress units the enhancement of a render takes: one per shot when it enhances, else none."""
    return len(story.shots) if film_of(ctx, story, render).enhances_clips else 0


async def enhance_all(ctx: PipelineContext, story: Story, render: RenderChoice,
                      reporter: OperationReporter) -> Story:  # fmt: skip
    """The enhance stage: `enhance_shot` for every shot (MAX_PARALLEL_SHOTS at once), one progress unit each
    (added to the operation's total here; a render calling `enhance_shot` itself counts `enhance_units`).

    A render that does not enhance passes through (it only clears stale `degraded["enhance"]` notes)."""
    film = film_of(ctx, story, render)
    if film.enhances_clips:
        await reporter.begin(STAGE, total=reporter.op.progress.total + enhance_units(ctx, story, render))
    slots = asyncio.Semaphore(max(ctx.settings.stages.MAX_PARALLEL_SHOTS or len(story.shots), 1))

    async def one(shot: Shot) -> None:
        async with slots:
            await enhance_shot(ctx, story, shot, render, reporter)

    outcomes = await asyncio.gather(*(one(shot) for shot in story.shots), return_exceptions=True)
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if failures:  # every shot ran to its end first, so a retry redoes only the failed ones
        raise failures[0]
    if film.enhances_clips:
        await reporter.stage_done(STAGE)
    current = await ctx.store.get_story(story.story_id)
    if current is None:
        raise StageError("story_not_found", f"story {story.story_id} was deleted", stage=STAGE)
    return current


async def enhance_shot(ctx: PipelineContext, story: Story, shot: Shot, render: RenderChoice,
                       reporter: OperationReporter) -> None:  # fmt: skip
    """Make (or find current) the shot's enhanced clip for this render's film; call it once the shot's clip is
    current. Advances the progress by one unit when the render enhances (`enhance_all` counts them).

    Raises StageError `enhance_failed` (naming the shot and the reason) when no backend could enhance the
    clip and ENHANCE_FALLBACK does not say `skip`."""
    with stage_step(STAGE, shot_id=shot.id):
        film = film_of(ctx, story, render)
        current = await _current(ctx, story, shot)
        if not film.enhances_clips:
            if STAGE in current.degraded:
                await _update_shot(ctx, story, shot, lambda target: set_degraded(target, STAGE, None))
            return
        enhanced = current.enhanced
        if enhanced and fp.enhanced_is_current(current, ctx.settings, film) and \
                ctx.asset_path(story, enhanced.file).exists():
            await reporter.advance()
            return
        await reporter.shot_state(shot.id, "rendering")
        await _enhance(ctx, story, current, film)
        await reporter.shot_state(shot.id, "done", advance=1)


async def _enhance(ctx: PipelineContext, story: Story, shot: Shot, film: FilmFormat) -> None:
    clip = shot.clip
    if clip is None or clip.duration is None:
        raise StageError("clip_missing", f"{shot.id} has no clip to enhance", stage=STAGE, shot_id=shot.id)
    fingerprint = fp.enhanced_fingerprint(shot, ctx.settings, film)
    file = f"{shot.id}/enhanced_{fingerprint}.mp4"
    path = ctx.asset_path(story, file)
    request = EnhanceRequest(clip_path=ctx.asset_path(story, clip.file), duration=clip.duration,
                             width=film.clip_width, height=film.clip_height, fps=film.clip_fps,
                             target_width=film.width, target_height=film.height, target_fps=film.fps,
                             source=_source(ctx, story, shot, film))
    chain = ctx.providers.enhance
    try:
        with producing(path) as tmp:
            outcome = await chain.call(lambda enhancer: enhancer.enhance(request, tmp))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if not ctx.settings.enhance.skips:
            raise
        failed = f"({', '.join(chain.names)} failed): {describe(exc)}"
        reason = f"not enhanced {failed}"
        earlier = shot.enhanced
        if earlier and fp.enhanced_matches(shot, ctx.settings, film) and ctx.asset_path(story, earlier.file).exists():
            reason = f"kept the clip {earlier.backend} enhanced before {failed}"
        logger.warning("{}: {}", shot.id, reason)
        await _update_shot(ctx, story, shot, lambda target: set_degraded(target, STAGE, reason))
        return
    key = ctx.asset_key(story, file)
    await publish_file(ctx, key, path, "video/mp4", shot_id=shot.id)
    made = outcome.value
    asset = EnhancedClip(key=key, file=file, fingerprint=fingerprint, duration=clip.duration, backend=outcome.backend,
                         degraded=outcome.degraded is not None, width=made.width, height=made.height, fps=made.fps,
                         method=made.method)

    def attach(target: Shot) -> None:
        target.enhanced = asset
        set_degraded(target, STAGE, outcome.degraded)

    await _update_shot(ctx, story, shot, attach)


def _source(ctx: PipelineContext, story: Story, shot: Shot, film: FilmFormat) -> ClipRequest | None:
    """How a generated (Ken Burns) clip was made, so the embedded engine may make it again at the film's format."""
    clip, keyframe = shot.clip, shot.keyframe
    if clip is None or clip.backend != GENERATED_BY or keyframe is None or clip.duration is None:
        return None
    return ClipRequest(keyframe_path=ctx.asset_path(story, keyframe.file), prompt=shot.detail, prompts=shot.prompts,
                       camera=shot.camera, duration=clip.duration, width=film.clip_width, height=film.clip_height,
                       fps=film.clip_fps, seed=shot.sequence)


def composition_clip(ctx: PipelineContext, story: Story, shot: Shot, render: RenderChoice) -> Path:
    """The clip the film is composed from: the shot's enhanced clip when this render enhances and it was made
    for it, else its clip (which the composition scales to the film)."""
    film = film_of(ctx, story, render)
    enhanced = shot.enhanced
    if film.enhances_clips and enhanced and fp.enhanced_matches(shot, ctx.settings, film):
        path = ctx.asset_path(story, enhanced.file)
        if path.exists():
            return path
    if shot.clip is None:
        raise StageError("clip_missing", f"{shot.id} has no clip", stage="compose", shot_id=shot.id)
    return ctx.asset_path(story, shot.clip.file)


def enhancement_summary(ctx: PipelineContext, story: Story, render: RenderChoice) -> dict[str, Any]:
    """What the render's result says: the film's size and rate, whether it was enhanced, and which shots were
    not (and why). `enhanced` is true when every shot was composed from an enhanced clip."""
    film = film_of(ctx, story, render)
    summary: dict[str, Any] = {**film.describe(), "requested": film.enhance}
    if not film.enhances_clips:
        return summary
    made = {s.id: s.enhanced for s in story.shots if s.enhanced and fp.enhanced_matches(s, ctx.settings, film)}
    summary.update(
        enhanced=len(made) == len(story.shots), multi=film.multi,
        shots=[{"shot_id": s.id, "backend": e.backend, "method": e.method, "width": e.width, "height": e.height,
                "fps": e.fps} for s in story.shots if (e := made.get(s.id))],
        not_enhanced=[{"shot_id": s.id, "reason": s.degraded.get(STAGE, "not enhanced")}
                      for s in story.shots if s.id not in made])
    return summary


async def _current(ctx: PipelineContext, story: Story, shot: Shot) -> Shot:
    """The shot as stored now (its clip may be newer than the caller's copy)."""
    stored = await ctx.store.get_story(story.story_id)
    current = stored.shot(shot.id) if stored else None
    if current is None:
        raise StageError("story_not_found", f"{shot.id} of story {story.story_id} was deleted", stage=STAGE,
                         shot_id=shot.id)
    return current


async def _update_shot(ctx: PipelineContext, story: Story, shot: Shot, change: Callable[[Shot], None]) -> None:
    def apply(current: Story) -> None:
        target = current.shot(shot.id)
        if target is not None:
            change(target)

    await ctx.store.update_story(story.story_id, apply)
