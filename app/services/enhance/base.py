"""The enhance stage: a shot's clip becomes the same clip at a higher frame rate and a larger size."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from app.services.backend import Backend
from app.services.clip.base import ClipRequest


class EnhanceRequest(BaseModel):
    """One clip to enhance: the clip as made (size, rate, length) and the film's size and rate to reach."""

    clip_path: Path
    #: the clip's length in seconds; the enhanced clip keeps it
    duration: float
    width: int
    height: int
    fps: int
    target_width: int
    target_height: int
    target_fps: int
    #: how the clip was made when a generator made it (the embedded Ken Burns backend): it may be made
    #: again at the target size and rate instead of being interpolated
    source: ClipRequest | None = None


class EnhanceResult(BaseModel):
    """What was written: its size and rate (a backend may overshoot the target; composition fits it) and how."""

    width: int
    height: int
    fps: float
    #: e.g. "resynthesized", "blend+lanczos", "sr=flashvsr;interp=rife"
    method: str


class ClipEnhancer(Backend, Protocol):
    async def enhance(self, request: EnhanceRequest, out_path: Path) -> EnhanceResult:
        """Write the enhanced clip (H.264 MP4, the clip's own sound if it has any, the clip's length) to
        `out_path`, at least the target size and rate (or exactly, for the embedded engine)."""
        ...
