"""`.env.example` lists every setting of the service and of every backend it can load."""

from __future__ import annotations

import importlib
import pkgutil
import re

from pydantic_settings import BaseSettings

import app
from tests.server import REPO


def settings_classes() -> list[type[BaseSettings]]:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(module.name)
    found, todo = [], list(BaseSettings.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        # a class without an env prefix (other than Settings) is only a base of backend settings
        if cls.__module__.startswith("app.") and (cls.model_config.get("env_prefix") or cls.__name__ == "Settings"):
            found.append(cls)
    return found


def env_names(cls: type[BaseSettings]) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in cls.model_fields}


def test_env_example_lists_every_setting_of_every_backend():
    listed = set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M))
    classes = settings_classes()
    assert len(classes) >= 10
    missing = {name for cls in classes for name in env_names(cls)} - listed
    assert not missing, f".env.example lacks {sorted(missing)}"
