"""A worker's local working folder: before it runs an operation, the story's current assets it lacks
(keyframes, narration, clips, the last film) are fetched from the object store by key, so a worker
on another machine resumes a story without a shared disk and redoes nothing that is finished."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol, runtime_checkable

from loguru import logger

from app.core.errors import describe
from app.models.operation import Operation
from app.models.story import Story
from app.services.pipeline.context import PipelineContext

#: Downloads at once per operation.
FETCH_CONCURRENCY = 4


@runtime_checkable
class FetchingStore(Protocol):
    async def get_file(self, key: str, path: Path) -> bool: ...


def current_assets(story: Story) -> list[tuple[str, str]]:
    """(object key, local file) of every asset the story's current state refers to."""
    found: list[tuple[str, str]] = []
    for shot in story.shots:
        for asset in (shot.keyframe, shot.audio, shot.clip):
            if asset is not None:
                found.append((asset.key, asset.file))
    video = story.video
    if video is not None:
        found += [(video.key, video.file), (video.subtitle_key, video.subtitle_file),
                  (video.cover_key, video.cover_file)]
        if video.vtt_key and video.vtt_file:
            found.append((video.vtt_key, video.vtt_file))
    return found


async def fetch_missing_assets(ctx: PipelineContext, op: Operation) -> None:
    """Fetch what this worker lacks; a fetch that fails only means the step makes that asset again."""
    store = ctx.providers.publish
    story = await ctx.store.get_story(op.story_id)
    if story is None or not isinstance(store, FetchingStore):
        return
    missing = [(key, path) for key, file in current_assets(story)
               if not (path := ctx.asset_path(story, file)).exists()]
    if not missing:
        return
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def fetch(key: str, path: Path) -> bool:
        async with gate:
            try:
                return await store.get_file(key, path)
            except Exception as exc:
                logger.warning("cannot fetch {}: {}", key, describe(exc))
                return False

    fetched = await asyncio.gather(*(fetch(key, path) for key, path in missing))
    logger.info("fetched {} of {} missing assets of {}", sum(fetched), len(missing), story.story_id)
