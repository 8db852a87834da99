"""Make and publish the story's contact sheet after its keyframes changed (create, regenerate).

The sheet is a convenience, not a product: when it cannot be made the operation still succeeds, the
reason is logged, and the result simply has no `contact_sheet_url`.
"""

from __future__ import annotations

import asyncio
import functools

from loguru import logger

from app.models.freshness import digest
from app.models.story import Asset, Story
from app.services.keyframe.contact_sheet import SheetShot, write_contact_sheet
from app.services.pipeline.context import PipelineContext, publish_file


async def publish_contact_sheet(ctx: PipelineContext, story_id: str) -> Asset | None:
    """The story's current contact sheet, drawn and published if its shots changed; None if it cannot be made."""
    try:
        return await _publish(ctx, story_id)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        logger.opt(exception=exc).warning("contact sheet of {} not made: {}", story_id, exc)
        return None


async def _publish(ctx: PipelineContext, story_id: str) -> Asset | None:
    story = await ctx.store.get_story(story_id)
    if story is None or not story.shots or any(s.keyframe is None for s in story.shots):
        return None
    options = ctx.settings.contact_sheet
    shots = [SheetShot(sequence=s.sequence, shot_id=s.id, narration=s.narration,
                       keyframe=ctx.asset_path(story, s.keyframe.file), version=s.keyframe.version)
             for s in story.shots if s.keyframe is not None]
    fingerprint = digest([(s.shot_id, s.narration, s.version, str(s.keyframe)) for s in shots], story.display_name,
                         story.style, options.CONTACT_SHEET_THUMB_WIDTH, options.CONTACT_SHEET_COLUMNS)
    if story.contact_sheet is not None and story.contact_sheet.fingerprint == fingerprint:
        return story.contact_sheet
    file = f"contact_sheet_{fingerprint}.png"
    path = ctx.asset_path(story, file)
    if not path.exists():
        await ctx.cpu.run(functools.partial(
            write_contact_sheet, shots, path, title=story.display_name, subtitle=story.style,
            thumb_width=options.CONTACT_SHEET_THUMB_WIDTH, columns=options.CONTACT_SHEET_COLUMNS,
            font_family=ctx.settings.compose.font))
    asset = Asset(key=ctx.asset_key(story, file), file=file, fingerprint=fingerprint)
    await publish_file(ctx, asset.key, path, "image/png")

    def attach(current: Story) -> None:
        current.contact_sheet = asset

    await ctx.store.update_story(story_id, attach)
    return asset
