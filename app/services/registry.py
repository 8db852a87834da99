"""Builds each stage's backend from settings: a known name, or a `module:factory` spec."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from app.core.errors import ConfigurationError
from app.core.settings import Settings
from app.core.settings.service import BackendStage, ModelStage
from app.services.chain import StageChain
from app.services.clip.base import ClipAnimator
from app.services.enhance.base import ClipEnhancer
from app.services.keyframe.base import KeyframeRenderer
from app.services.narration.base import Speaker
from app.services.publish.base import ObjectStore
from app.services.storyboard.base import StoryboardPlanner

#: Known backend names per stage → factory spec `module:create`; create(settings) builds the backend
#: (a factory with a `publish` parameter also gets the object store).
BACKENDS: dict[BackendStage, dict[str, str]] = {
    "storyboard": {
        "embedded": "app.services.storyboard.rules.planner:create",
        "ollama": "app.services.storyboard.llm.ollama:create",
        "dashscope": "app.services.storyboard.llm.dashscope:create",
    },
    "keyframe": {
        "embedded": "app.services.keyframe.card:create",
        "comfyui": "app.services.keyframe.comfyui:create",
        "dashscope": "app.services.keyframe.dashscope:create",
    },
    "clip": {
        "embedded": "app.services.clip.kenburns:create",
        "hunyuan": "app.services.clip.hunyuan:create",
        "comfyui": "app.services.clip.comfyui:create",
        "pixverse": "app.services.clip.pixverse:create",
        "dashscope": "app.services.clip.dashscope:create",
    },
    "narration": {
        "embedded": "app.services.narration.espeak:create",
        "cosyvoice": "app.services.narration.cosyvoice:create",
        "dashscope": "app.services.narration.dashscope:create",
    },
    "enhance": {
        "embedded": "app.services.enhance.embedded:create",
        "http": "app.services.enhance.http:create",
    },
    "publish": {
        "embedded": "app.services.publish.local:create",
        "local": "app.services.publish.local:create",
        "oss": "app.services.publish.oss:create",
    },
}


@dataclass(frozen=True)
class Providers:
    """Each model stage as a chain of backends (first = configured, then its fallbacks), plus the object store."""

    storyboard: StageChain[StoryboardPlanner]
    keyframe: StageChain[KeyframeRenderer]
    clip: StageChain[ClipAnimator]
    narration: StageChain[Speaker]
    publish: ObjectStore
    #: ENHANCE_URL / ENHANCE_PROVIDER, then the ENHANCE_FALLBACK backends (settings.enhance.chain())
    enhance: StageChain[ClipEnhancer]

    def chains(self) -> list[StageChain[Any]]:
        return [self.storyboard, self.keyframe, self.clip, self.narration, self.enhance]

    async def aclose(self) -> None:
        """Close every backend's connections (each backend once, though it may sit in several chains)."""
        backends: dict[int, Any] = {id(b.impl): b.impl for chain in self.chains() for b in chain.backends}
        backends[id(self.publish)] = self.publish
        for backend in backends.values():
            await backend.aclose()


def build_providers(settings: Settings) -> Providers:
    publish = cast(ObjectStore, build("publish", settings.stages.provider_for("publish"), settings))
    return Providers(
        storyboard=build_chain("storyboard", settings, publish),
        keyframe=build_chain("keyframe", settings, publish),
        clip=build_chain("clip", settings, publish),
        narration=build_chain("narration", settings, publish),
        publish=publish,
        enhance=StageChain("enhance", [(name, build("enhance", name, settings, publish))
                                       for name in settings.enhance.chain()]),
    )


def build_chain(stage: ModelStage, settings: Settings, publish: ObjectStore | None = None) -> StageChain[Any]:
    names = settings.stages.chain_for(stage)
    return StageChain(stage, [(name, build(stage, name, settings, publish)) for name in names])


def build(stage: BackendStage, name: str, settings: Settings, publish: ObjectStore | None = None) -> Any:
    """The backend `name` of `stage`: a known name or a `module:factory` spec."""
    factory = load_factory(stage, name)
    if "publish" in inspect.signature(factory).parameters:
        return factory(settings, publish=publish)
    return factory(settings)


def load_factory(stage: BackendStage, name: str) -> Callable[..., Any]:
    spec = BACKENDS[stage].get(name, name)
    if ":" not in spec:
        known = ", ".join(sorted(BACKENDS[stage]))
        raise ConfigurationError(f"{stage} backend {name!r} is not available (known: {known})")
    module_name, _, attr = spec.partition(":")
    try:
        factory: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"{stage} backend {spec!r} cannot be loaded: {exc}") from exc
    return factory
