"""Settings sections of ComfyUI: the hosts every ComfyUI backend shares, and the keyframe and clip backends' own."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from app.core.settings.base import PolicySettings, check_http_urls, section_config, split_hosts


class ComfyUISettings(BaseSettings):
    """The ComfyUI hosts and the client's timings; the keyframe and clip backends add their own."""

    model_config = section_config("COMFYUI_")

    HOSTS: str = Field("http://127.0.0.1:8188", description="Comma list of ComfyUI base URLs; one job per host")
    USE_WEBSOCKET: bool = Field(True, description="Follow progress over /ws; false = poll /history only")
    WS_OPEN_TIMEOUT_S: float = Field(5.0, description="WebSocket handshake limit before falling back to polling")
    POLL_INTERVAL_S: float = Field(1.0, description="Delay between /history polls")
    HTTP_TIMEOUT_S: float = Field(30.0, description="Limit for each HTTP request to a host")
    HOST_WAIT_S: float = Field(3600.0, description="How long a job waits for a free host")
    HOST_COOLDOWN_S: float = Field(30.0, description="A host that failed a job is skipped this long while "
                                                     "another host can take the work")
    MAX_OUTPUT_MB: int = Field(512, description="Largest output file fetched from /view")
    READY_TIMEOUT_S: float = Field(3.0, description="Limit for each host's /system_stats readiness probe")

    @field_validator("HOSTS")
    @classmethod
    def _http_hosts(cls, value: str) -> str:
        check_http_urls("COMFYUI_HOSTS", split_hosts(value))
        return value

    @property
    def host_urls(self) -> tuple[str, ...]:
        return split_hosts(self.HOSTS)

    @property
    def max_output_bytes(self) -> int:
        return self.MAX_OUTPUT_MB * 1024 * 1024


class ComfyImageSettings(PolicySettings):
    """The keyframe backend's own settings (env prefix COMFYUI_IMAGE_); BACKOFF_BASE_S and BACKOFF_MAX_S keep
    PolicySettings' defaults."""

    model_config = section_config("COMFYUI_IMAGE_")

    TEMPLATE: str = Field("qwen_image_t2i", description="Built-in template name (qwen_image_t2i, sdxl_t2i) "
                                                        "or a path to an API-format .json with marked nodes")
    NEGATIVE: str | None = Field(None, description="Negative prompt; unset = the template's own")
    TIMEOUT_S: float = Field(600.0, description="Overall limit for one keyframe prompt on a host")
    RETRIES: int = Field(2, description="Retries of transient failures (5xx, lost host, timeout)")
    CONCURRENCY: int = Field(0, description="Keyframes at once; 0 = as many as hosts are free (one per host)")


class ComfyVideoSettings(PolicySettings):
    """The clip backend's own settings (env prefix COMFYUI_VIDEO_); BACKOFF_BASE_S and BACKOFF_MAX_S keep
    PolicySettings' defaults."""

    model_config = section_config("COMFYUI_VIDEO_")

    TEMPLATE: str = Field("hunyuan15_i2v", description="Built-in template name or a path to an API-format .json")
    NEGATIVE: str | None = Field(None, description="Negative prompt; unset = the template's own")
    TIMEOUT_S: float = Field(1800.0, description="Overall limit for one clip prompt on a host")
    RETRIES: int = Field(1, description="Retries of transient failures (5xx, lost host, timeout)")
    CONCURRENCY: int = Field(0, description="Clips at once; 0 = as many as hosts are free (one per host)")
    MAX_FRAMES: int = Field(121, description="Most frames generated per clip; longer shots hold the last frame")
    FPS: int = Field(24, description="The model's frame rate when the template has no @fps node")

