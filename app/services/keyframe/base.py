"""The keyframe stage: one still image per shot."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from app.services.backend import Backend


class KeyframeRequest(BaseModel):
    story_title: str
    style: str
    shot_id: str
    sequence: int
    subject: str
    image_detail: str
    camera: str
    tone: str
    width: int
    height: int
    seed: int
    version: int = 1


class KeyframeRenderer(Backend, Protocol):
    async def render(self, request: KeyframeRequest, out_path: Path) -> None:
        """Write the keyframe for `request` to `out_path` as a PNG of request.width × request.height."""
        ...
