"""The narration stage: text to speech."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from app.services.backend import Backend


class SpeechRequest(BaseModel):
    text: str
    language: str = "zh"
    voice: str = ""
    speed: float = 1.0
    tone: str = ""


class Speaker(Backend, Protocol):
    async def synthesize(self, request: SpeechRequest, out_path: Path) -> float:
        """Write the spoken `request.text` to `out_path` as a WAV; return its duration in seconds."""
        ...

