"""The storyboard stage: turns a script into a storyboard and a shot edit into a revised shot."""

from __future__ import annotations

from typing import Protocol

from app.models.storyboard import Character, PlannedShot, ShotEdit, Storyboard
from app.services.backend import Backend


class StoryboardPlanner(Backend, Protocol):
    async def plan(self, *, script: str, style: str, title: str) -> Storyboard:
        """Plan a storyboard.

        Args:
            script: a one-line premise or a full multi-paragraph story (Chinese or English).
            style: the user's style words, woven into every image prompt.
            title: the story's display name.

        Returns:
            A storyboard with 4–12 shots in story order and the cast.
        """
        ...

    async def revise_shot(
        self, *, shot: PlannedShot, edit: ShotEdit, characters: list[Character], style: str
    ) -> PlannedShot:
        """Merge a user's edit into a shot and derive a consistent `image_detail` from it."""
        ...
