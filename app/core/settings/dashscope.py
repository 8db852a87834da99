"""Settings sections of DashScope: the account (DASHSCOPE_) and each model family's own knobs."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from app.core.settings.base import PolicySettings, section_config

#: DashScope's public endpoints and the region each serves (keys and models are region-bound).
REGION_HOSTS = {"dashscope.aliyuncs.com": "cn-beijing", "dashscope-intl.aliyuncs.com": "ap-southeast-1",
                "dashscope-us.aliyuncs.com": "us-east-1"}


class DashScopeSettings(BaseSettings):
    """The DashScope account: key, region endpoints, polling and download limits (env prefix DASHSCOPE_)."""

    model_config = section_config("DASHSCOPE_")

    API_KEY: SecretStr | None = None
    #: Region base (keys are region-bound): Beijing below; Singapore https://dashscope-intl.aliyuncs.com/api/v1
    BASE_HTTP_URL: str = "https://dashscope.aliyuncs.com/api/v1"
    #: cn-beijing, ap-southeast-1 (Singapore) or us-east-1; decides which models are offered. Empty = the region of
    #: BASE_HTTP_URL's host (cn-beijing for a host that is no DashScope endpoint, e.g. a proxy)
    REGION: str = ""
    BASE_WS_URL: str = "wss://dashscope.aliyuncs.com/api-ws/v1/inference"
    WORKSPACE: str = ""
    POLL_INTERVAL_S: float = 2.0
    SUBMIT_TIMEOUT_S: float = 30.0
    READY_TIMEOUT_S: float = 5.0
    DOWNLOAD_TIMEOUT_S: float = 120.0
    MAX_DOWNLOAD_MB: float = 200.0

    def region(self) -> str:
        """DASHSCOPE_REGION, else the region BASE_HTTP_URL's host serves, else cn-beijing."""
        if self.REGION.strip():
            return self.REGION.strip()
        return REGION_HOSTS.get(urlsplit(self.BASE_HTTP_URL).hostname or "", "cn-beijing")


class DashScopeImageSettings(PolicySettings):
    """Text-to-image knobs (env prefix DASHSCOPE_T2I_)."""

    model_config = section_config("DASHSCOPE_T2I_")

    MODEL: str = "wan2.2-t2i-flash"
    NEGATIVE_PROMPT: str = "低质量, 模糊, 变形, 文字, 水印, lowres, blurry, deformed, text, watermark"
    PROMPT_EXTEND: bool = False
    #: How long one task may stay PENDING/RUNNING before the attempt gives up.
    TASK_TIMEOUT_S: float = 240.0
    TIMEOUT_S: float = 300.0


class DashScopeVideoSettings(PolicySettings):
    """Image-to-video knobs (env prefix DASHSCOPE_I2V_)."""

    model_config = section_config("DASHSCOPE_I2V_")

    MODEL: str = "wan2.5-i2v-preview"
    RESOLUTION: str = "720P"
    #: Comma list of clip lengths the model accepts, overriding the built-in table (e.g. "5,10").
    DURATIONS: str = ""
    NEGATIVE_PROMPT: str = "低质量, 模糊, 变形, 闪烁, 字幕, 水印"
    #: data_uri: the keyframe inline as base64; url: uploaded to our object store and passed as its URL.
    IMAGE_INPUT: Literal["data_uri", "url"] = "data_uri"
    TASK_TIMEOUT_S: float = 840.0
    TIMEOUT_S: float = 900.0
    RETRIES: int = 1


class DashScopeSpeechSettings(PolicySettings):
    """CosyVoice knobs (env prefix DASHSCOPE_TTS_)."""

    model_config = section_config("DASHSCOPE_TTS_")

    #: A model the region offers (cosyvoice-v2 Beijing only; cosyvoice-v3-flash/-plus both; cosyvoice-v3.5-* Beijing
    #: only); empty = the region's default (Beijing cosyvoice-v2, Singapore cosyvoice-v3-flash)
    MODEL: str = ""
    #: Must belong to MODEL's generation: cosyvoice-v2 ↔ *_v2 voices; v3.5 ↔ voices cloned/designed for it;
    #: empty = the model's default system voice (v2 longxiaochun_v2, v3 longanyang)
    VOICE: str = ""
    #: What is asked of the server: wav and pcm are stored as they come, mp3 is converted with ffmpeg.
    FORMAT: Literal["wav", "pcm", "mp3"] = "wav"
    SAMPLE_RATE: int = 24000
    VOLUME: int = 50
    TIMEOUT_S: float = 60.0
