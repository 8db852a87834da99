"""story_create: plan the storyboard, persist it, draw every shot's keyframe."""

from __future__ import annotations

from typing import Any

from app.core.ids import shot_id_for, shot_uuid
from app.models.operation import Operation
from app.models.requests import CreateStoryboardRequest
from app.models.story import Shot, Story, StoryStatus
from app.models.storyboard import Storyboard
from app.services.pipeline.contact_sheet import publish_contact_sheet
from app.services.pipeline.context import PipelineContext
from app.services.pipeline.failures import stage_step
from app.services.pipeline.keyframes import render_keyframe
from app.services.pipeline.reporter import OperationReporter
from app.services.pipeline.shots import for_each_shot
from app.services.scheduling import FairSlots
from app.services.storyboard.language.vocab import MAX_SHOTS


async def run_create(ctx: PipelineContext, op: Operation, reporter: OperationReporter) -> dict[str, Any]:
    story = await _plan(ctx, op, reporter)
    await reporter.begin("keyframe", total=1 + len(story.shots))
    slots = FairSlots(ctx.settings.stages.MAX_PARALLEL_SHOTS)

    async def draw(shot: Shot) -> None:
        reporter.note(shot.id, "keyframe", "rendering")
        with reporter.shot_scope(shot.id, "keyframe"):
            async with slots.slot():
                await render_keyframe(ctx, story, shot, version=1, operation_id=op.operation_id)
        reporter.note(shot.id, "keyframe", "done", advance=1)

    missing = [s for s in story.shots if s.keyframe is None]
    async with reporter.noting():
        await for_each_shot(missing, draw, stage="keyframe")
    sheet = await publish_contact_sheet(ctx, story.story_id)
    await reporter.stage_done("keyframe")
    await ctx.store.update_story(story.story_id, _mark_ready)
    return {"shot_ids": [s.id for s in story.shots], "contact_sheet_key": sheet.key if sheet else None}


async def _plan(ctx: PipelineContext, op: Operation, reporter: OperationReporter) -> Story:
    story = await ctx.store.get_story(op.story_id)
    assert story is not None, "admission creates the story"
    if reporter.stage_finished("storyboard") and story.plan_operation_id == op.operation_id:
        return story
    # Until the plan exists the shot count is unknown: count it as the most a plan may have, so the
    # percentage never goes back when the real count replaces it.
    await reporter.begin("storyboard", total=1 + MAX_SHOTS)
    request = CreateStoryboardRequest.model_validate(op.request)
    await ctx.store.update_story(op.story_id, lambda s: _apply_request(s, request))
    with stage_step("storyboard"):
        outcome = await ctx.providers.storyboard.call(lambda planner: planner.plan(
            script=request.script_content, style=request.style, title=request.display_name))
    story = await ctx.store.update_story(
        op.story_id, lambda s: _apply_storyboard(s, outcome.value, op.operation_id, outcome.degraded))
    await reporter.advance()
    await reporter.stage_done("storyboard")
    return story


def _apply_request(story: Story, request: CreateStoryboardRequest) -> None:
    story.display_name = request.display_name
    story.script_content = request.script_content
    story.style = request.style
    story.aspect_ratio = request.aspect_ratio
    story.status = StoryStatus.generating


def _apply_storyboard(story: Story, board: Storyboard, operation_id: str, degraded: str | None) -> None:
    story.degraded = {"storyboard": degraded} if degraded else {}
    story.language = board.language
    story.characters = board.characters
    story.shots = [
        Shot(id=shot_id_for(i), uuid=shot_uuid(story.story_id, i), sequence=i, **planned.model_dump())
        for i, planned in enumerate(board.shots, 1)
    ]
    story.video = None
    story.plan_operation_id = operation_id


def _mark_ready(story: Story) -> None:
    story.status = StoryStatus.ready
