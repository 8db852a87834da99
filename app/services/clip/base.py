"""The clip stage: a keyframe becomes a moving clip of a given length."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field

from app.services.backend import Backend


class ClipRequest(BaseModel):
    keyframe_path: Path
    prompt: str
    #: provider-specific rewrites of the motion prompt by language ("en", "zh"); `prompt` is the user's
    prompts: dict[str, str] = Field(default_factory=dict)
    camera: str
    duration: float
    width: int
    height: int
    fps: int
    seed: int = 0


class ClipAnimator(Backend, Protocol):
    async def animate(self, request: ClipRequest, out_path: Path) -> None:
        """Write an H.264 MP4 (no audio) of request.duration seconds to `out_path`."""
        ...
