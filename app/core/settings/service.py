"""Settings sections of the service itself: server, state, stages, shot pacing, callbacks, espeak-ng."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings

from app.core.ids import ShotIdFormat
from app.core.settings.base import section_config

#: The stages that have backends, in pipeline order (compose has none: it is FFmpeg in process). The enhance
#: stage's backends are chosen by its own section (ENHANCE_URL / ENHANCE_PROVIDER, settings/enhance.py).
ModelStage = Literal["storyboard", "keyframe", "clip", "narration"]
BackendStage = Literal["storyboard", "keyframe", "clip", "narration", "enhance", "publish"]
MODEL_STAGES: tuple[ModelStage, ...] = get_args(ModelStage)
#: Backend names per stage. `embedded` needs no GPU and no network. A `module:attr` spec names a
#: factory `attr(settings)` to plug in another backend (tests use it for deliberately slow fakes).
EMBEDDED = "embedded"
#: The backends each inference mode means.
LOCAL_SET: dict[BackendStage, str] = {"storyboard": "ollama", "keyframe": "comfyui", "clip": "hunyuan",
                                      "narration": "cosyvoice", "publish": "local"}
CLOUD_SET: dict[BackendStage, str] = {"storyboard": "dashscope", "keyframe": "dashscope", "clip": "pixverse",
                                      "narration": "dashscope", "publish": "oss"}


class ServerSettings(BaseSettings):
    """How the API listens and what it accepts."""

    model_config = section_config()

    HOST: str = Field("", description="Bind address; empty = 127.0.0.1 without API_KEY, 0.0.0.0 with one")
    PORT: int = 12345
    PUBLIC_BASE_URL: str = Field("", description="Base of published URLs; empty = http://HOST:PORT")
    API_KEY: SecretStr | None = Field(None, description="Bearer token required on /api/v1 when set")
    LOG_LEVEL: str = "INFO"
    MAX_SCRIPT_CHARS: int = 20_000
    MAX_BODY_BYTES: int = 256 * 1024

    @property
    def bind_host(self) -> str:
        if self.HOST:
            return self.HOST
        return "0.0.0.0" if self.API_KEY else "127.0.0.1"

    @property
    def public_base_url(self) -> str:
        if self.PUBLIC_BASE_URL:
            return self.PUBLIC_BASE_URL.rstrip("/")
        host = "127.0.0.1" if self.bind_host in ("0.0.0.0", "") else self.bind_host
        return f"http://{host}:{self.PORT}"


class AnswerSettings(BaseSettings):
    """How the three POSTs answer: at once (202, then poll or callbacks) or after waiting; which shot id is shown.

    A client may choose per request with `Prefer: respond-async` or `Prefer: wait=N` (RFC 7240)."""

    model_config = section_config()

    #: > 0: each POST waits up to this many seconds for its operation and answers 200 with the result
    #: in the upstream backend's shape, >= 400 when it failed, 504 when it is still running (it goes on;
    #: the same request again waits again). 0 = answer 202 at once. Behind the upstream Go backend,
    #: keep it under its 300 s client timeout (e.g. 280).
    SYNC_WAIT_S: float = Field(0.0, ge=0)
    #: The longest `Prefer: wait=N` a request may ask for; longer asks are cut to this.
    SYNC_WAIT_MAX_S: float = Field(600.0, ge=0)
    #: Which shot id is shown as `id`: short = shot_NN, uuid = the shot's stable UUID (derived from the
    #: story id and the sequence). Both are always accepted as `shot_id`, and `uuid` is always shown too.
    SHOT_ID_FORMAT: ShotIdFormat = "short"


class StateSettings(BaseSettings):
    """Where stories, operations, the callback outbox and published media live."""

    model_config = section_config()

    DATA_DIR: Path = Path("data")
    MEDIA_DIR: Path | None = Field(None, description="Local object store folder (PUBLISH_PROVIDER=local); unset = "
                                   "DATA_DIR/media. Workers without a shared disk use it on a shared volume")


def _stage_field(name: str, old_name: str, default: str, description: str) -> Any:
    """A stage setting read from its name or from its name before the stages were renamed."""
    return Field(default, description=description, validation_alias=AliasChoices(name, old_name))


class StageSettings(BaseSettings):
    """Which backend each stage uses, what it falls back to, and how many shots run at once.

    The names before the stage renaming (LLM_, IMAGE_, VIDEO_, TTS_, STORAGE_) still work."""

    model_config = section_config()

    LOCAL_INFERENCE: bool | None = Field(
        None, description="true = local GPU servers, false = cloud APIs, unset = embedded backends"
    )
    STORYBOARD_PROVIDER: str = _stage_field("STORYBOARD_PROVIDER", "LLM_PROVIDER", "", "Storyboard backend")
    KEYFRAME_PROVIDER: str = _stage_field("KEYFRAME_PROVIDER", "IMAGE_PROVIDER", "", "Keyframe backend")
    CLIP_PROVIDER: str = _stage_field("CLIP_PROVIDER", "VIDEO_PROVIDER", "", "Clip backend")
    NARRATION_PROVIDER: str = _stage_field("NARRATION_PROVIDER", "TTS_PROVIDER", "", "Narration backend")
    PUBLISH_PROVIDER: str = _stage_field("PUBLISH_PROVIDER", "STORAGE_PROVIDER", "", "Object store")
    STORYBOARD_FALLBACK: str = _stage_field("STORYBOARD_FALLBACK", "LLM_FALLBACK", "embedded",
                                            "Comma list tried when the storyboard backend fails")
    KEYFRAME_FALLBACK: str = _stage_field("KEYFRAME_FALLBACK", "IMAGE_FALLBACK", "embedded",
                                          "Comma list tried when the keyframe backend fails")
    CLIP_FALLBACK: str = _stage_field("CLIP_FALLBACK", "VIDEO_FALLBACK", "embedded",
                                      "Comma list tried when the clip backend fails")
    NARRATION_FALLBACK: str = _stage_field("NARRATION_FALLBACK", "TTS_FALLBACK", "embedded",
                                           "Comma list tried when the narration backend fails")
    MAX_PARALLEL_SHOTS: int = Field(
        0, description="Shots of one operation in each stage's backend at once; 0 = follow the backends' own "
                       "limits (hosts, CONCURRENCY), which every story shares round-robin")

    def provider_for(self, stage: BackendStage) -> str:
        """The backend name a stage uses: its override, else the LOCAL_INFERENCE set, else embedded."""
        override: str = getattr(self, f"{stage.upper()}_PROVIDER")
        if override:
            return override
        if self.LOCAL_INFERENCE is None:
            return EMBEDDED
        return LOCAL_SET[stage] if self.LOCAL_INFERENCE else CLOUD_SET[stage]

    def chain_for(self, stage: ModelStage) -> list[str]:
        """The backends a stage tries in order: its provider, then its fallbacks (no repeats)."""
        listed: str = getattr(self, f"{stage.upper()}_FALLBACK")
        fallbacks = [n.strip() for n in listed.split(",") if n.strip() and n.strip().lower() != "none"]
        return list(dict.fromkeys([self.provider_for(stage), *fallbacks]))


class FilmSettings(BaseSettings):
    """How long shots are, and where background music comes from."""

    model_config = section_config()

    SHOT_AIR_S: float = Field(0.6, description="Silence added after each shot's narration")
    SHOT_MIN_S: float = Field(2.5, description="Shortest shot length in seconds")
    MUSIC_DIR: Path | None = Field(None, description="Background music folder; unset = DATA_DIR/music")
    DEFAULT_BGM: str = Field("", description="Music file name used when a render names none; empty = none")


class CallbackSettings(BaseSettings):
    """Where operation events are sent, how they are signed and retried."""

    model_config = section_config()

    CALLBACK_URL: str = Field("", description="Where operation events are POSTed; empty = no callbacks")
    CALLBACK_SECRET: SecretStr | None = Field(None, description="HMAC-SHA256 key that signs callbacks")
    CALLBACK_ALLOWED_HOSTS: list[str] = Field(
        default_factory=list, description="Hosts a per-request callback_url may point at"
    )
    CALLBACK_TIMEOUT_S: float = 10.0
    CALLBACK_RETRY_BASE_S: float = 1.0
    CALLBACK_RETRY_MAX_S: float = 300.0
    CALLBACK_MAX_ATTEMPTS: int = Field(20, description="After this many failures an event is dead-lettered")


class EspeakSettings(BaseSettings):
    """The embedded narration backend (espeak-ng): voices and speaking rates."""

    model_config = section_config()

    TTS_VOICE_ZH: str = "cmn"
    TTS_VOICE_EN: str = "en-us"
    TTS_WORDS_PER_MINUTE: int = Field(165, description="espeak-ng rate for English")
    TTS_WORDS_PER_MINUTE_ZH: int = Field(270, description="espeak-ng rate for Mandarin (per character)")


def _cores() -> int:
    return os.cpu_count() or 2


class WorkSettings(BaseSettings):
    """How much work runs at once, how much may wait, and the health limits that protect the service."""

    model_config = section_config()

    MAX_RUNNING_OPERATIONS: int = Field(default_factory=_cores, ge=1,
                                        description="Operations worked on at once (all stories); default = CPU cores")
    MAX_QUEUED_OPERATIONS: int = Field(1000, ge=1, description="Operations waiting; more are refused with 429")
    FFMPEG_MAX_PROCESSES: int = Field(default_factory=_cores, ge=1,
                                      description="FFmpeg processes at once (all operations); default = CPU cores")
    FFMPEG_NICE: int = Field(10, ge=0, le=19, description="Niceness of FFmpeg processes: the API keeps answering "
                             "while they use every core")
    STATE_IO_THREADS: int = Field(8, ge=1, description="Threads that read and write state files (none else)")
    EMBEDDED_PROCESSES: int = Field(1, ge=0, description="Processes for the embedded planner and for drawing "
                                    "storyboard cards, each (0 = threads of the API process, which then compete "
                                    "with requests for the GIL)")
    EMBEDDED_NICE: int = Field(10, ge=0, le=19, description="Niceness of those processes and of espeak-ng: "
                               "the API keeps answering while they use every core")
    MIN_FREE_DISK_MB: int = Field(256, ge=0, description="Below this much free space in DATA_DIR: 507 storage_full")
    MEDIA_URL_TTL_S: int = Field(7 * 24 * 3600, ge=60,
                                 description="Lifetime of signed /media URLs (used when API_KEY is set)")
    LOOP_BLOCK_LIMIT_S: float = Field(0.0, ge=0.0, description="Log an error, with the running code, when the event "
                                      "loop has not ticked for longer than this (a watchdog thread, cheap enough "
                                      "for production); 0 = off")
