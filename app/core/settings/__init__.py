"""The service's settings: one tree, built once (create_app, the CLI) and passed to every factory.

Each section reads its own environment variables (and `.env`); no other module reads the
environment. `Settings(DATA_DIR=…, VIDEO_FPS=…)` routes flat names to the section that declares them,
so a test or a script can override any setting by its documented name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings

from app.core.settings.base import CallPolicy, PolicySettings, RetrySettings, section_config
from app.core.settings.comfyui import ComfyImageSettings, ComfyUISettings, ComfyVideoSettings
from app.core.settings.composition import ComposeOptions
from app.core.settings.dashscope import (
    DashScopeImageSettings,
    DashScopeSettings,
    DashScopeSpeechSettings,
    DashScopeVideoSettings,
)
from app.core.settings.enhance import EnhanceSettings
from app.core.settings.scaleout import ScaleOutSettings
from app.core.settings.service import (
    EMBEDDED,
    AnswerSettings,
    CallbackSettings,
    EspeakSettings,
    FilmSettings,
    ServerSettings,
    StageSettings,
    StateSettings,
    WorkSettings,
)
from app.core.settings.storyboard import OllamaSettings, QwenSettings
from app.core.settings.studio import ContactSheetSettings, ObservabilitySettings, StudioSettings
from app.core.settings.vendors import CosyVoiceSettings, HunyuanSettings, OssSettings, PixverseSettings

__all__ = ["EMBEDDED", "AnswerSettings", "CallPolicy", "ComposeOptions", "PolicySettings", "RetrySettings", "Settings",
           "section_config"]


class Settings(BaseModel):
    """Every setting, by concern; each field is a section with its own environment variables."""

    model_config = ConfigDict(frozen=True)

    server: ServerSettings = Field(default_factory=ServerSettings)
    answers: AnswerSettings = Field(default_factory=AnswerSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    stages: StageSettings = Field(default_factory=StageSettings)
    work: WorkSettings = Field(default_factory=WorkSettings)
    film: FilmSettings = Field(default_factory=FilmSettings)
    compose: ComposeOptions = Field(default_factory=ComposeOptions)
    enhance: EnhanceSettings = Field(default_factory=EnhanceSettings)
    callbacks: CallbackSettings = Field(default_factory=CallbackSettings)
    espeak: EspeakSettings = Field(default_factory=EspeakSettings)
    studio: StudioSettings = Field(default_factory=StudioSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    contact_sheet: ContactSheetSettings = Field(default_factory=ContactSheetSettings)
    ollama: OllamaSettings = Field(default_factory=OllamaSettings)
    qwen: QwenSettings = Field(default_factory=QwenSettings)
    comfyui: ComfyUISettings = Field(default_factory=ComfyUISettings)
    comfyui_image: ComfyImageSettings = Field(default_factory=ComfyImageSettings)
    comfyui_video: ComfyVideoSettings = Field(default_factory=ComfyVideoSettings)
    dashscope: DashScopeSettings = Field(default_factory=DashScopeSettings)
    dashscope_image: DashScopeImageSettings = Field(default_factory=DashScopeImageSettings)
    dashscope_video: DashScopeVideoSettings = Field(default_factory=DashScopeVideoSettings)
    dashscope_speech: DashScopeSpeechSettings = Field(default_factory=DashScopeSpeechSettings)
    hunyuan: HunyuanSettings = Field(default_factory=HunyuanSettings)
    pixverse: PixverseSettings = Field(default_factory=PixverseSettings)
    cosyvoice: CosyVoiceSettings = Field(default_factory=CosyVoiceSettings)
    oss: OssSettings = Field(default_factory=OssSettings)
    scaleout: ScaleOutSettings = Field(default_factory=ScaleOutSettings)

    @model_validator(mode="before")
    @classmethod
    def _route_flat_names(cls, data: Any) -> Any:
        """Send `NAME=value` arguments to the section declaring NAME (built with them, the rest from env)."""
        if not isinstance(data, dict):
            return data
        routed: dict[str, dict[str, Any]] = {}
        rest: dict[str, Any] = {}
        for key, value in data.items():
            target = None if key in cls.model_fields else _field_of(key)
            if target is None:
                rest[key] = value
            else:
                routed.setdefault(target[0], {})[target[1]] = value
        for section, values in routed.items():
            rest[section] = _sections()[section](**values)
        return rest

    @property
    def music_dir(self) -> Path:
        """Where background music files are looked up by name."""
        return self.film.MUSIC_DIR if self.film.MUSIC_DIR is not None else self.state.DATA_DIR / "music"

    def sync_mode_warnings(self) -> list[str]:
        """What makes the synchronous mode a poor fit for the upstream backend (which waits 300 s and
        stores the URLs it is given for good); empty when SYNC_WAIT_S is 0."""
        wait = self.answers.SYNC_WAIT_S
        if wait <= 0:
            return []
        found = []
        if wait >= 300:
            found.append(f"SYNC_WAIT_S={wait:g} is not under the upstream backend's 300 s client timeout: it "
                         "gives up before it can see our 504 (keep it around 280)")
        publish = self.stages.provider_for("publish")
        if publish == "oss" and not self.oss.PUBLIC_BASE_URL:
            found.append("OSS_PUBLIC_BASE_URL is empty: answers carry presigned URLs that expire after "
                         f"{self.oss.URL_EXPIRES_S} s, and the backend stores them for good")
        if publish in ("local", EMBEDDED) and not self.server.PUBLIC_BASE_URL:
            found.append(f"PUBLIC_BASE_URL is empty: answers carry {self.server.public_base_url}/media/… URLs, "
                         "which another machine cannot reach")
        if self.answers.SHOT_ID_FORMAT != "uuid":
            found.append("SHOT_ID_FORMAT=short: the upstream backend keeps only UUID shot ids, so its "
                         "regenerate requests will name shots we do not know (set SHOT_ID_FORMAT=uuid)")
        return found

    def sections(self) -> dict[str, BaseSettings]:
        return {name: getattr(self, name) for name in type(self).model_fields}


def env_names(section: type[BaseSettings]) -> dict[str, str]:
    """Field name → the environment variable names that set it (the first is the documented one)."""
    prefix = section.model_config.get("env_prefix", "")
    names: dict[str, str] = {}
    for field, info in section.model_fields.items():
        alias = info.validation_alias
        choices = getattr(alias, "choices", None)
        if isinstance(alias, str):
            names[field] = alias
        elif choices:
            names[field] = str(choices[0])
        else:
            names[field] = f"{prefix}{field}".upper()
    return names


def _sections() -> dict[str, type[BaseSettings]]:
    return {name: info.annotation for name, info in Settings.model_fields.items()
            if isinstance(info.annotation, type) and issubclass(info.annotation, BaseSettings)}


def _field_of(name: str) -> tuple[str, str] | None:
    """(section, field) for a documented environment name, else for a bare field name (first section wins)."""
    for section, section_cls in _sections().items():
        for field, env_name in env_names(section_cls).items():
            if env_name == name:
                return section, field
    for section, section_cls in _sections().items():
        if name in section_cls.model_fields:
            return section, name
    return None
