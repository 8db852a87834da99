"""What every pipeline step receives: settings, state, backends, and the callback outbox."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.settings import Settings
from app.models.story import Story
from app.services.callbacks.outbox import Outbox
from app.services.registry import Providers
from app.storage.store import StateStore

ASPECT_SIZES = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}


@dataclass(frozen=True)
class PipelineContext:
    settings: Settings
    store: StateStore
    providers: Providers
    outbox: Outbox

    def output_size(self, aspect_ratio: str) -> tuple[int, int]:
        """Frame size for an aspect ratio: the configured 16:9 size, turned or squared."""
        long_side, short_side = self.settings.VIDEO_WIDTH, self.settings.VIDEO_HEIGHT
        return {"16:9": (long_side, short_side), "9:16": (short_side, long_side), "1:1": (short_side, short_side)}[
            aspect_ratio
        ]

    def asset_path(self, story: Story, file: str) -> Path:
        return self.store.assets_dir(story.story_id) / file

    @staticmethod
    def asset_key(story: Story, file: str) -> str:
        return f"users/{story.user_id}/stories/{story.story_id}/{file}"
