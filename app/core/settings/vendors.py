"""Settings sections of the task-based clip vendors (HunyuanVideo-1.5 server, Pixverse), CosyVoice and OSS."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr, model_validator

from app.core.settings.base import PolicySettings, RetrySettings, check_http_urls, section_config, split_hosts

#: V4-signed URLs live at most 7 days [OSS docs, signature V4].
V4_MAX_URL_EXPIRES_S = 7 * 24 * 3600
#: A public OSS endpoint names its region: oss-<region>[-internal].aliyuncs.com.
ENDPOINT_REGION = re.compile(r"oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com")
#: Largest vendor result downloaded (bytes).
DEFAULT_MAX_BYTES = 200 * 1024 * 1024


class VendorTaskSettings(RetrySettings):
    """The knobs every vendor-task backend has (each names its whole-task timeout itself)."""

    POLL_INTERVAL_S: float = 2.0
    #: one HTTP request; a transient failure of one request is retried RETRIES times
    REQUEST_TIMEOUT_S: float = 30.0
    MAX_DOWNLOAD_BYTES: int = DEFAULT_MAX_BYTES


class HunyuanSettings(VendorTaskSettings):
    """HUNYUAN_* settings, from the environment (or .env) only; POLL_INTERVAL_S, REQUEST_TIMEOUT_S, RETRIES,
    BACKOFF_BASE_S, BACKOFF_MAX_S and MAX_DOWNLOAD_BYTES keep VendorTaskSettings' defaults."""

    model_config = section_config("HUNYUAN_")

    #: the server when there is one (BASE_URLS empty)
    BASE_URL: str = "http://127.0.0.1:8010"
    #: comma list of servers, each running one job at a time (job ids belong to their server, so this is a
    #: pool the client leases, not a load balancer's address); empty = BASE_URL alone
    BASE_URLS: str = ""
    NEGATIVE_PROMPT: str = ""
    #: denoising steps; None = the server's default (50, or 8 for a step-distilled checkpoint)
    STEPS: int | None = None
    #: the server's output rate (HY_FPS) and frame cap (HY_MAX_FRAMES, 4k+1)
    FPS: int = 24
    MAX_FRAMES: int = 121
    #: one job on a host (submit → done), after which it moves to another host or the shot falls back
    JOB_TIMEOUT_S: float = 1800.0
    #: clips at once; 0 = as many as hosts are free (one per host)
    CONCURRENCY: int = 0
    #: how long a clip waits for a free host
    HOST_WAIT_S: float = 3600.0
    #: a host that failed a job is skipped this long while another host can take the work
    HOST_COOLDOWN_S: float = 30.0

    @model_validator(mode="after")
    def _http_hosts(self) -> HunyuanSettings:
        check_http_urls("HUNYUAN_BASE_URLS" if self.BASE_URLS.strip() else "HUNYUAN_BASE_URL", self.host_urls)
        return self

    @property
    def host_urls(self) -> tuple[str, ...]:
        """The servers: BASE_URLS, else BASE_URL."""
        return split_hosts(self.BASE_URLS) or split_hosts(self.BASE_URL)


class PixverseSettings(VendorTaskSettings):
    """PIXVERSE_* settings, from the environment (or .env) only; REQUEST_TIMEOUT_S, CONCURRENCY, RETRIES,
    BACKOFF_MAX_S and MAX_DOWNLOAD_BYTES keep VendorTaskSettings' defaults."""

    model_config = section_config("PIXVERSE_")

    API_KEY: SecretStr | None = None
    BASE_URL: str = "https://app-api.pixverse.ai"
    MODEL: str = "v5"
    QUALITY: str = "540p"
    #: clip lengths to ask for (the shortest covering the shot); empty = what MODEL offers at QUALITY and MOTION_MODE
    DURATIONS: str = ""
    #: "normal" or "fast" (5 s only, not at 1080p); empty = not sent (v5 does not take it)
    MOTION_MODE: str = ""
    NEGATIVE_PROMPT: str = ""
    POLL_INTERVAL_S: float = 3.0
    #: the whole task (upload → download), after which the shot falls back
    TASK_TIMEOUT_S: float = 900.0
    BACKOFF_BASE_S: float = 1.0


class CosyVoiceSettings(PolicySettings):
    """COSYVOICE_* client settings (the server's own settings use other COSYVOICE_* names), env/.env only;
    CONCURRENCY and RETRIES keep PolicySettings' defaults."""

    model_config = section_config("COSYVOICE_")

    BASE_URL: str = "http://127.0.0.1:9233"
    #: a speaker id from GET /v1/speakers; empty = the server's default speaker
    SPEAKER: str = ""
    #: multiplies the request's speed; the product is kept within 0.5–2.0
    SPEED: float = 1.0
    #: how a shot's tone becomes CosyVoice's instruct text, by narration language
    INSTRUCT_ZH: str = "用{tone}的语气说"
    INSTRUCT_EN: str = "Say it in a {tone} tone."
    TIMEOUT_S: float = 120.0
    BACKOFF_BASE_S: float = 1.0
    BACKOFF_MAX_S: float = 20.0
    MAX_AUDIO_BYTES: int = 50 * 1024 * 1024


class OssSettings(PolicySettings):
    """OSS_* settings, from the environment (or .env) only; BACKOFF_MAX_S keeps PolicySettings' default."""

    model_config = section_config("OSS_")

    #: e.g. https://oss-cn-hangzhou.aliyuncs.com, or the bound custom domain with IS_CNAME=true
    ENDPOINT: str = ""
    BUCKET: str = ""
    ACCESS_KEY_ID: SecretStr | None = None
    ACCESS_KEY_SECRET: SecretStr | None = None
    #: ENDPOINT is a custom domain bound to the bucket (required for new accounts' mainland buckets)
    IS_CNAME: bool = False
    #: the bucket's region id (cn-hangzhou, ap-southeast-1, …), which V4 signs; empty = read from ENDPOINT
    REGION: str = ""
    #: v4 (OSS4-HMAC-SHA256); v1 only by explicit choice, for old accounts and buckets that still take it
    SIGNATURE_VERSION: Literal["v4", "v1"] = "v4"
    #: public/CDN base for read URLs (url = base + "/" + key); empty = presigned GET URLs
    PUBLIC_BASE_URL: str = ""
    URL_EXPIRES_S: int = 3600
    MULTIPART_THRESHOLD_BYTES: int = 10 * 1024 * 1024
    PART_SIZE_BYTES: int = 10 * 1024 * 1024
    UPLOAD_THREADS: int = 2
    #: resumable-upload checkpoints; empty = DATA_DIR/oss-checkpoints
    CHECKPOINT_DIR: Path | None = None
    #: socket timeout of each HTTP request oss2 makes
    CONNECT_TIMEOUT_S: float = 30.0
    #: one upload attempt (all its parts)
    TIMEOUT_S: float = 900.0
    CONCURRENCY: int = 4
    RETRIES: int = 3
    BACKOFF_BASE_S: float = 1.0

    @model_validator(mode="after")
    def _v4_url_lifetime(self) -> OssSettings:
        if self.SIGNATURE_VERSION == "v4" and self.URL_EXPIRES_S > V4_MAX_URL_EXPIRES_S:
            raise ValueError(f"OSS_URL_EXPIRES_S={self.URL_EXPIRES_S}: V4-signed URLs live at most "
                             f"{V4_MAX_URL_EXPIRES_S} s (7 days)")
        return self

    def region(self) -> str:
        """The region V4 signs: OSS_REGION, else the one a public endpoint names, else ""."""
        if self.REGION.strip():
            return self.REGION.strip()
        host = urlsplit(self.ENDPOINT if "://" in self.ENDPOINT else f"//{self.ENDPOINT}").hostname or ""
        match = ENDPOINT_REGION.fullmatch(host)
        return match.group(1) if match and not match.group(1).startswith("accelerate") else ""

    def missing(self) -> list[str]:
        """Names of the settings an OSS store cannot work without."""
        values = {"OSS_ENDPOINT": self.ENDPOINT, "OSS_BUCKET": self.BUCKET, "OSS_ACCESS_KEY_ID": self.ACCESS_KEY_ID,
                  "OSS_ACCESS_KEY_SECRET": self.ACCESS_KEY_SECRET}
        if self.SIGNATURE_VERSION == "v4":
            values["OSS_REGION"] = self.region()
        return [name for name, value in values.items() if not value]
