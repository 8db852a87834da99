"""Settings sections of the task-based clip vendors (HunyuanVideo-1.5 server, Pixverse), CosyVoice and OSS."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from app.core.settings.base import PolicySettings, RetrySettings, section_config

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

    BASE_URL: str = "http://127.0.0.1:8010"
    NEGATIVE_PROMPT: str = ""
    #: denoising steps; None = the server's default (50, or 8 for a step-distilled checkpoint)
    STEPS: int | None = None
    #: the server's output rate (HY_FPS) and frame cap (HY_MAX_FRAMES, 4k+1)
    FPS: int = 24
    MAX_FRAMES: int = 121
    #: the whole job (submit → download), after which the shot falls back
    JOB_TIMEOUT_S: float = 1800.0
    CONCURRENCY: int = 1


class PixverseSettings(VendorTaskSettings):
    """PIXVERSE_* settings, from the environment (or .env) only; REQUEST_TIMEOUT_S, CONCURRENCY, RETRIES,
    BACKOFF_MAX_S and MAX_DOWNLOAD_BYTES keep VendorTaskSettings' defaults."""

    model_config = section_config("PIXVERSE_")

    API_KEY: SecretStr | None = None
    BASE_URL: str = "https://app-api.pixverse.ai"
    MODEL: str = "v5"
    QUALITY: str = "540p"
    #: clip lengths the model offers; the shortest one covering the shot is asked for
    DURATIONS: str = "5,8"
    #: "normal" or "fast"; empty = not sent (v5 does not take it)
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

    def missing(self) -> list[str]:
        """Names of the settings an OSS store cannot work without."""
        values = {"OSS_ENDPOINT": self.ENDPOINT, "OSS_BUCKET": self.BUCKET, "OSS_ACCESS_KEY_ID": self.ACCESS_KEY_ID,
                  "OSS_ACCESS_KEY_SECRET": self.ACCESS_KEY_SECRET}
        return [name for name, value in values.items() if not value]
