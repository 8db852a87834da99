"""Drawing and publishing one keyframe version of a shot."""

from __future__ import annotations

from app.models.freshness import digest
from app.models.story import Keyframe, Shot, ShotStatus, Story
from app.services.keyframe.base import KeyframeRequest
from app.services.pipeline.context import PipelineContext, producing, publish_file


async def render_keyframe(ctx: PipelineContext, story: Story, shot: Shot, *, version: int,
                          operation_id: str) -> Story:
    """Draw keyframe `version` of `shot`, publish it, and make it the shot's current keyframe."""
    width, height = ctx.output_size(story.aspect_ratio)
    file = f"{shot.id}/keyframe_v{version}.png"
    path = ctx.asset_path(story, file)
    path.parent.mkdir(parents=True, exist_ok=True)
    request = KeyframeRequest(
        story_title=story.display_name, style=story.style, shot_id=shot.id, sequence=shot.sequence,
        subject=shot.subject, image_detail=shot.image_detail, camera=shot.camera, tone=shot.tone,
        width=width, height=height, seed=int(digest(story.story_id, shot.id, version)[:8], 16), version=version,
    )
    with producing(path) as tmp:
        outcome = await ctx.providers.keyframe.call(lambda renderer: renderer.render(request, tmp))
    key = ctx.asset_key(story, file)
    await publish_file(ctx, key, path, "image/png", shot_id=shot.id)
    keyframe = Keyframe(key=key, file=file, version=version, operation_id=operation_id,
                        fingerprint=digest(request.model_dump()), backend=outcome.backend,
                        degraded=outcome.degraded is not None)

    def attach(current: Story) -> None:
        target = current.shot(shot.id)
        if target is None:
            return
        target.keyframe = keyframe
        target.keyframe_history = [k for k in target.keyframe_history if k.version != version] + [keyframe]
        target.status = ShotStatus.done
        set_degraded(target, "keyframe", outcome.degraded)

    return await ctx.store.update_story(story.story_id, attach)


def next_version(shot: Shot) -> int:
    return max((k.version for k in shot.keyframe_history), default=0) + 1


def set_degraded(shot: Shot, stage: str, reason: str | None) -> None:
    """Record (or clear) that a fallback backend made this shot's asset for `stage`."""
    if reason:
        shot.degraded[stage] = reason
    else:
        shot.degraded.pop(stage, None)
