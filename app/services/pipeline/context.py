"""What every pipeline step receives: settings, state, backends, and the callback outbox."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.settings import Settings
from app.models import freshness as fingerprints
from app.models.story import Story
from app.services.callbacks.outbox import Outbox
from app.services.pipeline.failures import stage_step
from app.services.registry import Providers
from app.state.store import StateStore


@dataclass(frozen=True)
class PipelineContext:
    settings: Settings
    store: StateStore
    providers: Providers
    outbox: Outbox

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
