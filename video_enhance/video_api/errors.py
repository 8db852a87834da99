"""Job failures (HTTP answers are ``contract.ApiError``); exception text never reaches a client.

EnhanceError        a job failure with a code, recorded on the job (``invalid_video``, ``enhance_failed`` ...)
  MediaError        FFmpeg / ffprobe failed (carries the argv and stderr tail, for the log only)
  EngineNotConfigured  a GPU engine's checkout, weights or Python packages are missing
"""

from __future__ import annotations


class EnhanceError(Exception):
    """A job failure; ``message`` is safe to show a client."""

    code = "enhance_failed"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code


class MediaError(EnhanceError):
    """An FFmpeg or ffprobe run failed."""

    code = "ffmpeg_failed"

    def __init__(self, message: str, *, argv: list[str] | None = None, stderr_tail: str = ""):
        super().__init__(message)
        self.argv, self.stderr_tail = argv or [], stderr_tail


class EngineNotConfigured(EnhanceError):
    """A GPU engine cannot run here; the message says what is missing and how to provide it."""

    code = "engine_not_configured"
