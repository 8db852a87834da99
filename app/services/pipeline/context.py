"""What every pipeline step receives: settings, state, backends, and the callback outbox."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from app.core.settings import Settings
from app.models import freshness as fingerprints
from app.models.story import Story
from app.services.callbacks.outbox import CallbackOutbox
from app.services.pipeline.failures import stage_step
from app.services.registry import Providers
from app.services.worker_pool import CpuWork
from app.state.store import StateStore


@dataclass(frozen=True)
class PipelineContext:
    settings: Settings
    store: StateStore
    providers: Providers
    outbox: CallbackOutbox
    #: where the pipeline's own CPU work runs (EMBEDDED_PROCESSES at EMBEDDED_NICE), not the API's threads
    cpu: CpuWork = field(default_factory=CpuWork)

    def output_size(self, aspect_ratio: str) -> tuple[int, int]:
        """Frame size of keyframes and clips: the configured 16:9 size, turned or squared."""
        return fingerprints.output_size(aspect_ratio, self.settings)

    def asset_path(self, story: Story, file: str) -> Path:
        return self.store.assets_dir(story.story_id) / file

    @staticmethod
    def asset_key(story: Story, file: str) -> str:
        return f"users/{story.user_id}/stories/{story.story_id}/{file}"


async def publish_file(ctx: PipelineContext, key: str, path: Path, content_type: str, *,
                       shot_id: str | None = None) -> None:
    """Put a produced file into the object store; a refusal is `publish_failed` whatever step asked."""
    with stage_step("publish", shot_id=shot_id):
        await ctx.providers.publish.put_file(key, path, content_type)


@contextmanager
def producing(path: Path) -> Iterator[Path]:
    """A temp name beside `path` for a backend to write to; renamed to `path` only when the block succeeds.

    A killed process leaves a dot-named temp (swept at start-up), never a half-written asset, and an
    orphaned writer can never overwrite the file a resumed run made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
