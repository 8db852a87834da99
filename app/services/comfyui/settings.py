"""Settings every ComfyUI backend shares: the hosts and how they are talked to (env prefix COMFYUI_)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from app.services.backend import backend_settings_config


class ComfyUISettings(BaseSettings):
    """The ComfyUI hosts and the client's timings; the keyframe and clip backends add their own."""

    model_config = backend_settings_config("COMFYUI_")

    HOSTS: str = Field("http://127.0.0.1:8188", description="Comma list of ComfyUI base URLs; one job per host")
    USE_WEBSOCKET: bool = Field(True, description="Follow progress over /ws; false = poll /history only")
    WS_OPEN_TIMEOUT_S: float = Field(5.0, description="WebSocket handshake limit before falling back to polling")
    POLL_INTERVAL_S: float = Field(1.0, description="Delay between /history polls")
    HTTP_TIMEOUT_S: float = Field(30.0, description="Limit for each HTTP request to a host")
    HOST_WAIT_S: float = Field(3600.0, description="How long a job waits for a free host")
    MAX_OUTPUT_MB: int = Field(512, description="Largest output file fetched from /view")
    READY_TIMEOUT_S: float = Field(3.0, description="Limit for each host's /system_stats readiness probe")

    @field_validator("HOSTS")
    @classmethod
    def _http_hosts(cls, value: str) -> str:
        hosts = split_hosts(value)
        if not hosts:
            raise ValueError("COMFYUI_HOSTS names no host")
        for host in hosts:
            parts = urlsplit(host)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"COMFYUI_HOSTS entry {host!r} is not an http(s) base URL")
        return value

    @property
    def host_urls(self) -> tuple[str, ...]:
        return split_hosts(self.HOSTS)

    @property
    def max_output_bytes(self) -> int:
        return self.MAX_OUTPUT_MB * 1024 * 1024


def split_hosts(value: str) -> tuple[str, ...]:
    """The base URLs of a comma list, without trailing slashes or repeats."""
    return tuple(dict.fromkeys(h.strip().rstrip("/") for h in value.split(",") if h.strip()))
