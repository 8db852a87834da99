"""Settings sections of DashScope: the account (DASHSCOPE_) and each model family's own knobs."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from app.core.settings.base import PolicySettings, section_config


class DashScopeSettings(BaseSettings):
    """The DashScope account: key, region endpoints, polling and download limits (env prefix DASHSCOPE_)."""

    model_config = section_config("DASHSCOPE_")

    API_KEY: SecretStr | None = None
    #: Region base (keys are region-bound): Beijing below; Singapore https://dashscope-intl.aliyuncs.com/api/v1
    BASE_HTTP_URL: str = "https://dashscope.aliyuncs.com/api/v1"
    BASE_WS_URL: str = "wss://dashscope.aliyuncs.com/api-ws/v1/inference"
    WORKSPACE: str = ""
    POLL_INTERVAL_S: float = 2.0
    SUBMIT_TIMEOUT_S: float = 30.0
    READY_TIMEOUT_S: float = 5.0
    DOWNLOAD_TIMEOUT_S: float = 120.0
    MAX_DOWNLOAD_MB: float = 200.0


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

    MODEL: str = "cosyvoice-v2"
    #: Must belong to MODEL's generation: cosyvoice-v2 ↔ *_v2 voices, cosyvoice-v1 ↔ unsuffixed ones.
    VOICE: str = "longxiaochun_v2"
    #: What is asked of the server: wav and pcm are stored as they come, mp3 is converted with ffmpeg.
    FORMAT: Literal["wav", "pcm", "mp3"] = "wav"
    SAMPLE_RATE: int = 24000
    VOLUME: int = 50
    TIMEOUT_S: float = 60.0
