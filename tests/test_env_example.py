"""`.env.example` is generated from the settings tree and lists every setting of every section."""

from __future__ import annotations

import re
import subprocess
import sys

from pydantic_settings import BaseSettings

from app.core.settings import Settings, env_names
from tests.server import REPO


def sections() -> list[type[BaseSettings]]:
    return [info.annotation for info in Settings.model_fields.values()  # type: ignore[misc]
            if isinstance(info.annotation, type) and issubclass(info.annotation, BaseSettings)]


def test_env_example_lists_every_setting_of_every_backend():
    listed = set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M))
    classes = sections()
    assert len(classes) >= 10
    names = {env for cls in classes for field, env in env_names(cls).items()
             if "not a setting" not in (cls.model_fields[field].description or "")}
    missing = names - listed
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_env_example_is_what_the_tree_generates():
    check = subprocess.run([sys.executable, "scripts/env_example.py", "--check"], cwd=REPO)
    assert check.returncode == 0, "run `python scripts/env_example.py` after changing a settings class"
