"""Builds each stage's backend from settings: a known name, or a `module:factory` spec."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from app.core.settings import Settings
from app.services.image.base import KeyframeRenderer
from app.services.llm.base import StoryboardPlanner
from app.services.storage.base import ObjectStore
from app.services.tts.base import Speaker
from app.services.video.base import ClipAnimator

#: Known backend names per stage → factory spec. The backends issue adds the GPU and cloud ones.
BACKENDS: dict[str, dict[str, str]] = {
    "llm": {"embedded": "app.services.llm.embedded:create"},
    "image": {"embedded": "app.services.image.card:create"},
    "video": {"embedded": "app.services.video.kenburns:create"},
    "tts": {"embedded": "app.services.tts.espeak:create"},
    "storage": {"embedded": "app.services.storage.local:create", "local": "app.services.storage.local:create"},
}


class ConfigurationError(RuntimeError):
    """Settings name a backend that does not exist or cannot be built."""


@dataclass(frozen=True)
class Providers:
    planner: StoryboardPlanner
    images: KeyframeRenderer
    clips: ClipAnimator
    speech: Speaker
    storage: ObjectStore


def build_providers(settings: Settings) -> Providers:
    return Providers(
        planner=build("llm", settings),
        images=build("image", settings),
        clips=build("video", settings),
        speech=build("tts", settings),
        storage=build("storage", settings),
    )


def build(stage: str, settings: Settings) -> Any:
    name = settings.provider_for(stage)  # type: ignore[arg-type]
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
