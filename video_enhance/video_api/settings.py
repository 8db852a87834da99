"""Settings from ``ENHANCE_*`` environment variables (or a ``.env`` file in the working directory)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Everything the enhancement service can be told; defaults run the FFmpeg engine on loopback."""

    model_config = SettingsConfigDict(env_prefix="ENHANCE_", env_file=".env", extra="ignore", env_ignore_empty=True)

    host: str = "127.0.0.1"
    port: int = 6010
    work_dir: Path = Path(tempfile.gettempdir()) / "video_enhance"
    log_level: str = "INFO"

    # Inputs
    max_upload_bytes: int = Field(256 * MIB, ge=1)
    max_json_bytes: int = 16 * 1024
    allowed_hosts: str = ""  # comma-separated: "oss-cn-hangzhou.aliyuncs.com,*.example.com"; empty: no URL input
    fetch_timeout_s: float = 60.0
    max_input_seconds: float = 120.0
    max_input_pixels: int = 1920 * 1080
    max_output_pixels: int = 3840 * 2160
    max_output_fps: float = 120.0

    # Queue: one job on the GPU at a time, a bounded number waiting (429 beyond it)
    max_queue: int = Field(4, ge=0)
    retry_after_s: int = Field(30, ge=1)  # Retry-After of a 429 queue_full
    job_timeout_s: float = 3600.0
    keep_jobs: int = 50
    job_ttl_s: float = 3600.0

    # Engines: "auto" uses the GPU engine when it is configured, else FFmpeg
    sr_engine: Literal["auto", "ffmpeg", "flashvsr"] = "auto"
    interp_engine: Literal["auto", "ffmpeg", "rife"] = "auto"
    fallback_to_ffmpeg: bool = True  # a GPU engine failing on one job redoes that step with FFmpeg (job "degraded")

    # FFmpeg engine and the final encode
    ffmpeg_mi_mode: Literal["mci", "blend", "dup"] = "mci"
    crf: int = Field(18, ge=0, le=51)
    preset: str = "medium"
    audio_bitrate: str = "192k"

    # RIFE: a hzwer/Practical-RIFE checkout with the unpacked weights in train_log/
    rife_dir: Path | None = None
    rife_model_dir: Path | None = None  # default: <rife_dir>/train_log
    rife_fp16: bool = False
    rife_scale: float = 1.0  # RIFE's --scale: 0.5 for 4K input

    # FlashVSR: an OpenImagingLab/FlashVSR checkout (pip install -e) with weights in examples/WanVSR/FlashVSR
    flashvsr_dir: Path | None = None
    flashvsr_weights_dir: Path | None = None  # default: <flashvsr_dir>/examples/WanVSR/FlashVSR
    flashvsr_variant: Literal["tiny", "full"] = "tiny"
    flashvsr_version: Literal["1.0", "1.1"] = "1.0"
    flashvsr_sparse_ratio: float = 2.0

    @property
    def allowed_host_list(self) -> list[str]:
        return [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]
