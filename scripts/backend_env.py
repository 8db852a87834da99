"""Print the `.env.example` sections of every backend's settings class (paste them into .env.example).

Each setting gets the `#:` comment written above it in its class (or its Field description) and its
default; secrets and unset values print empty. tests/test_env_example.py checks nothing is missing.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr  # noqa: E402
from pydantic_settings import BaseSettings  # noqa: E402

from app.core.settings import Settings  # noqa: E402
from tests.test_env_example import settings_classes  # noqa: E402


def field_comments(cls: type[BaseSettings]) -> dict[str, list[str]]:
    """`#:` comment lines written directly above each field in the class source."""
    comments: dict[str, list[str]] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        match = re.match(r"([A-Z][A-Z0-9_]*)\s*:", stripped)
        if match:
            comments[match.group(1)] = pending
        pending = []
    return comments


def default_text(value: object) -> str:
    if value is None or isinstance(value, SecretStr):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def section(cls: type[BaseSettings]) -> str:
    prefix = cls.model_config.get("env_prefix", "")
    doc = (inspect.getdoc(cls) or "").splitlines()[0] if inspect.getdoc(cls) else cls.__name__
    lines = [f"# --- {prefix}* : {doc} ({cls.__module__})"]
    comments = field_comments(cls)
    for name, info in cls.model_fields.items():
        notes = comments.get(name) or ([info.description] if info.description else [])
        lines += [f"# {note}" for note in notes]
        lines.append(f"{prefix}{name}={default_text(info.default)}")
    return "\n".join(lines)


def main() -> None:
    classes = sorted((c for c in settings_classes() if c is not Settings and c.model_config.get("env_prefix")),
                     key=lambda c: c.model_config["env_prefix"])
    sys.stdout.write("\n\n".join(section(cls) for cls in classes) + "\n")


if __name__ == "__main__":
    main()
