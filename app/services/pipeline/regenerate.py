"""shot_regen: merge the user's edit into the shot and draw a new keyframe version.

The shot's clip and the story's video become stale by fingerprint (see app/models/freshness.py); the next
render redoes exactly those.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import StageError
from app.models.operation import Operation
from app.models.requests import RegenerateShotRequest
from app.models.story import Shot, ShotStatus, Story
from app.models.storyboard import PlannedShot, ShotEdit
from app.services.pipeline.contact_sheet import publish_contact_sheet
from app.services.pipeline.context import PipelineContext
from app.services.pipeline.failures import stage_step
from app.services.pipeline.keyframes import next_version, render_keyframe, set_degraded
from app.services.pipeline.reporter import OperationReporter

EDITABLE = ("subject", "detail", "image_detail", "camera", "narration", "tone", "prompts")


async def run_regenerate(ctx: PipelineContext, op: Operation, reporter: OperationReporter) -> dict[str, Any]:
    request = RegenerateShotRequest.model_validate(op.request)
    await reporter.begin("storyboard", total=2)
    story, shot = await _load(ctx, request)
    if not reporter.stage_finished("storyboard"):
        with stage_step("storyboard", shot_id=shot.id):
            story, shot = await _revise(ctx, story, shot, request)
        await reporter.advance()
        await reporter.stage_done("storyboard")

    await reporter.begin("keyframe")
    produced = shot.keyframe if shot.keyframe and shot.keyframe.operation_id == op.operation_id else None
    if produced is None:
        await reporter.shot_state(shot.id, "rendering")
        with stage_step("keyframe", shot_id=shot.id):
            story = await render_keyframe(ctx, story, shot, version=next_version(shot),
                                          operation_id=op.operation_id)
        current = story.shot(shot.id)
        produced = current.keyframe if current else None
    if produced is None:
        raise StageError("keyframe_failed", f"{shot.id} lost its new keyframe", stage="keyframe", shot_id=shot.id)
    await reporter.shot_state(shot.id, "done", advance=1)
    sheet = await publish_contact_sheet(ctx, story.story_id)
    await reporter.stage_done("keyframe")
    return {"shot_id": shot.id, "keyframe_version": produced.version, "keyframe_key": produced.key,
            "contact_sheet_key": sheet.key if sheet else None}


async def _load(ctx: PipelineContext, request: RegenerateShotRequest) -> tuple[Story, Shot]:
    story = await ctx.store.get_story(request.story_id)
    shot = story.shot(request.shot_id) if story else None
    if story is None or shot is None:
        raise StageError("shot_not_found", f"shot {request.shot_id} no longer exists", stage="storyboard")
    return story, shot


async def _revise(ctx: PipelineContext, story: Story, shot: Shot,
                  request: RegenerateShotRequest) -> tuple[Story, Shot]:
    edit = ShotEdit(**request.model_dump(include=set(ShotEdit.model_fields)))
    current = PlannedShot(**shot.model_dump(include=set(PlannedShot.model_fields)))
    outcome = await ctx.providers.storyboard.call(lambda planner: planner.revise_shot(
        shot=current, edit=edit, characters=story.characters, style=request.style or story.style))
    revised = outcome.value

    def apply(target_story: Story) -> None:
        target = target_story.shot(shot.id)
        if target is not None:
            for field in EDITABLE:
                setattr(target, field, getattr(revised, field))
            target.characters = revised.characters
            set_degraded(target, "storyboard", outcome.degraded)
            target.status = ShotStatus.rendering

    story = await ctx.store.update_story(story.story_id, apply)
    return story, story.shot(shot.id)  # type: ignore[return-value]
