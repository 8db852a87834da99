"""Builds each stage's backend from settings: a known name, or a `module:factory` spec."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from app.core.settings import Settings
from app.services.chain import NamedBackend, StageChain
from app.services.publish.base import ObjectStore

#: Known backend names per stage → factory spec `module:create`; create(settings) builds the backend.
BACKENDS: dict[str, dict[str, str]] = {
    "llm": {
        "embedded": "app.services.storyboard.rules.planner:create",
        "ollama": "app.services.storyboard.llm.ollama:create",
        "dashscope": "app.services.storyboard.llm.dashscope:create",
    },
    "image": {
        "embedded": "app.services.keyframe.card:create",
        "comfyui": "app.services.keyframe.comfyui:create",
        "dashscope": "app.services.keyframe.dashscope:create",
    },
    "video": {
        "embedded": "app.services.clip.kenburns:create",
        "hunyuan": "app.services.clip.hunyuan:create",
        "comfyui": "app.services.clip.comfyui:create",
        "pixverse": "app.services.clip.pixverse:create",
        "dashscope": "app.services.clip.dashscope:create",
    },
    "tts": {
        "embedded": "app.services.narration.espeak:create",
        "cosyvoice": "app.services.narration.cosyvoice:create",
        "dashscope": "app.services.narration.dashscope:create",
    },
    "storage": {
        "embedded": "app.services.publish.local:create",
        "local": "app.services.publish.local:create",
        "oss": "app.services.publish.oss:create",
    },
}


class ConfigurationError(RuntimeError):
    """Settings name a backend that does not exist or cannot be built."""


@dataclass(frozen=True)
class Providers:
    """Each model stage as a chain of backends (StoryboardPlanner, KeyframeRenderer, ClipAnimator,
    Speaker implementations, first = configured), plus the object store."""

    planner: StageChain
    images: StageChain
    clips: StageChain
    speech: StageChain
    storage: ObjectStore

    def chains(self) -> list[StageChain]:
        return [self.planner, self.images, self.clips, self.speech]


def build_providers(settings: Settings) -> Providers:
    return Providers(
        planner=build_chain("llm", settings),
        images=build_chain("image", settings),
        clips=build_chain("video", settings),
        speech=build_chain("tts", settings),
        storage=build("storage", settings.provider_for("storage"), settings),
    )


def build_chain(stage: str, settings: Settings) -> StageChain:
    names = settings.chain_for(stage)  # type: ignore[arg-type]
    return StageChain(stage, [NamedBackend(name, build(stage, name, settings)) for name in names])


def build(stage: str, name: str, settings: Settings) -> Any:
    spec = BACKENDS[stage].get(name, name)
    if ":" not in spec:
        known = ", ".join(sorted(BACKENDS[stage]))
        raise ConfigurationError(f"{stage} backend {name!r} is not available (known: {known})")
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"{stage} backend {spec!r} cannot be loaded: {exc}") from exc
    return factory(settings)
