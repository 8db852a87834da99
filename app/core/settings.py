"""Service configuration, read from the environment and `.env` (see `.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Backend names per stage. `embedded` needs no GPU and no network. A `module:attr` spec names a
#: factory `attr(settings)` to plug in another backend (tests use it for deliberately slow fakes).
EMBEDDED = "embedded"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    # --- server --------------------------------------------------------------------------
    HOST: str = Field("", description="Bind address; empty = 127.0.0.1 without API_KEY, 0.0.0.0 with one")
    PORT: int = 12345
    PUBLIC_BASE_URL: str = Field("", description="Base of published URLs; empty = http://HOST:PORT")
    API_KEY: SecretStr | None = Field(None, description="Bearer token required on /api/v1 when set")
    DATA_DIR: Path = Path("data")
    LOG_LEVEL: str = "INFO"
    MAX_SCRIPT_CHARS: int = 20_000
    MAX_BODY_BYTES: int = 256 * 1024

    # --- provider choice -----------------------------------------------------------------
    LOCAL_INFERENCE: bool | None = Field(
        None, description="true = local GPU servers, false = cloud APIs, unset = embedded backends"
    )
    LLM_PROVIDER: str = ""
    IMAGE_PROVIDER: str = ""
    VIDEO_PROVIDER: str = ""
    TTS_PROVIDER: str = ""
    STORAGE_PROVIDER: str = ""
    LLM_FALLBACK: str = Field("embedded", description="Comma list tried when the LLM backend fails")
    IMAGE_FALLBACK: str = Field("embedded", description="Comma list tried when the keyframe backend fails")
    VIDEO_FALLBACK: str = Field("embedded", description="Comma list tried when the clip backend fails")
    TTS_FALLBACK: str = Field("embedded", description="Comma list tried when the TTS backend fails")

    # --- output --------------------------------------------------------------------------
    VIDEO_WIDTH: int = 1280
    VIDEO_HEIGHT: int = 720
    VIDEO_FPS: int = 25
    VIDEO_CRF: int = 23
    VIDEO_PRESET: str = "veryfast"
    SHOT_AIR_S: float = Field(0.6, description="Silence added after each shot's narration")
    SHOT_MIN_S: float = Field(2.5, description="Shortest shot length in seconds")
    SUBTITLE_FONT: str = "Noto Sans CJK SC"
    BURN_SUBTITLES: bool = True
    VIDEO_FIT: Literal["pad", "crop"] = Field("pad", description="Clips of another shape: pad or crop")
    SHORT_CLIP: Literal["hold", "slow"] = Field("hold", description="Clip shorter than its shot: hold or slow")
    SHORT_CLIP_MAX_SLOWDOWN: float = Field(1.25, ge=1.0, le=4.0)
    CLIP_AUDIO: bool = Field(True, description="Keep the clips' own sound under the narration")
    CLIP_AUDIO_DB: float = Field(-12.0, le=12.0, description="Gain on the clips' own sound")
    TRANSITION: Literal["cut", "crossfade", "fadeblack"] = "cut"
    TRANSITION_S: float = Field(0.5, ge=0.0, le=5.0)
    MUSIC_DIR: Path | None = Field(None, description="Background music folder; unset = DATA_DIR/music")
    DEFAULT_BGM: str = Field("", description="Music file name used when a render names none; empty = none")
    MUSIC_LU: float = Field(-10.0, le=10.0, description="Music loudness relative to the narration")
    MUSIC_DUCK_DB: float = Field(12.0, ge=0.0, le=30.0, description="Music reduction while narration plays")
    MUSIC_FADE_S: float = Field(2.0, ge=0.0, le=30.0)
    LOUDNESS_LUFS: float = Field(-16.0, ge=-40.0, le=-5.0, description="Integrated loudness of the film")
    TRUE_PEAK_DB: float = Field(-1.5, ge=-9.0, le=0.0, description="True-peak ceiling of the film, dBTP")
    MAX_PARALLEL_SHOTS: int = Field(2, description="Shots worked on at once per operation")
    FFMPEG_TIMEOUT_S: float = 600.0
    TTS_VOICE_ZH: str = "cmn"
    TTS_VOICE_EN: str = "en-us"
    TTS_WORDS_PER_MINUTE: int = Field(165, description="espeak-ng rate for English")
    TTS_WORDS_PER_MINUTE_ZH: int = Field(270, description="espeak-ng rate for Mandarin (per character)")

    # --- callbacks -----------------------------------------------------------------------
    CALLBACK_URL: str = Field("", description="Where operation events are POSTed; empty = no callbacks")
    CALLBACK_SECRET: SecretStr | None = Field(None, description="HMAC-SHA256 key that signs callbacks")
    CALLBACK_ALLOWED_HOSTS: list[str] = Field(
        default_factory=list, description="Hosts a per-request callback_url may point at"
    )
    CALLBACK_TIMEOUT_S: float = 10.0
    CALLBACK_RETRY_BASE_S: float = 1.0
    CALLBACK_RETRY_MAX_S: float = 300.0
    CALLBACK_MAX_ATTEMPTS: int = Field(20, description="After this many failures an event is dead-lettered")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def bind_host(self) -> str:
        if self.HOST:
            return self.HOST
        return "0.0.0.0" if self.API_KEY else "127.0.0.1"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def public_base_url(self) -> str:
        if self.PUBLIC_BASE_URL:
            return self.PUBLIC_BASE_URL.rstrip("/")
        host = "127.0.0.1" if self.bind_host in ("0.0.0.0", "") else self.bind_host
        return f"http://{host}:{self.PORT}"

    def chain_for(self, stage: Literal["llm", "image", "video", "tts"]) -> list[str]:
        """The backends a stage tries in order: its provider, then its fallbacks (no repeats)."""
        listed = getattr(self, f"{stage.upper()}_FALLBACK").split(",")
        fallbacks = [n.strip() for n in listed if n.strip() and n.strip().lower() != "none"]
        return list(dict.fromkeys([self.provider_for(stage), *fallbacks]))

    @property
    def music_dir(self) -> Path:
        """Where background music files are looked up by name."""
        return self.MUSIC_DIR if self.MUSIC_DIR is not None else self.DATA_DIR / "music"

    def provider_for(self, stage: Literal["llm", "image", "video", "tts", "storage"]) -> str:
        """The backend name a stage uses: its override, else the LOCAL_INFERENCE set, else embedded."""
        override = getattr(self, f"{stage.upper()}_PROVIDER")
        if override:
            return override
        if self.LOCAL_INFERENCE is None:
            return EMBEDDED
        return _LOCAL_SET[stage] if self.LOCAL_INFERENCE else _CLOUD_SET[stage]


# The backends each inference mode means; the non-embedded ones arrive with the backends issue.
_LOCAL_SET = {"llm": "ollama", "image": "comfyui", "video": "hunyuan", "tts": "cosyvoice", "storage": "local"}
_CLOUD_SET = {"llm": "dashscope", "image": "dashscope", "video": "pixverse", "tts": "dashscope", "storage": "oss"}


@lru_cache
def get_settings() -> Settings:
    return Settings()
