"""The FFmpeg engines: always available, CPU only. Lanczos upscaling and ``minterpolate`` frame interpolation.

They are *filter engines*: the pipeline puts their filters into its final encode, so no extra pass is spent.
"""

from __future__ import annotations

from ..media import VideoInfo, interpolate_filter, scale_filter


class FFmpegUpscaler:
    """Super-resolution by lanczos scaling (sharp, but adds no detail)."""

    name, step, gpu = "ffmpeg", "sr", False

    def check(self) -> None:
        """Always usable (ffmpeg is a system requirement of the service)."""

    def load(self) -> None:
        """Nothing to load."""

    def filter(self, *, factor: int, info: VideoInfo) -> str:
        return scale_filter(factor)



class FFmpegInterpolator:
    """Frame interpolation with ``minterpolate`` (motion-compensated by default; ``blend`` is faster)."""

    step, gpu = "interp", False

    def __init__(self, mi_mode: str = "mci"):
        self.mi_mode = mi_mode
        self.name = "ffmpeg"

    def check(self) -> None:
        """Always usable."""

    def load(self) -> None:
        """Nothing to load."""

    def filter(self, *, factor: int, info: VideoInfo) -> str:
        return interpolate_filter(info.fps, factor, self.mi_mode)

