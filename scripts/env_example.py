"""Write `.env.example` from the settings tree (app/core/settings): every section, every setting, its default.

Each setting gets the `#:` comment written above it in its class (or its Field description). Secrets and
unset values print empty. `--check` exits 1 when the file differs (tests/test_env_example.py runs it).
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

from pydantic import SecretStr
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.settings import Settings, env_names  # noqa: E402

HEADER = """\
# Story2Video service settings. Copy to .env (or export them). Every setting is optional:
# with none at all, every stage uses its embedded backend and the service listens on 127.0.0.1:12345.
# Generated from app/core/settings by `python scripts/env_example.py`; edit the classes, not this file.
"""


def field_comments(cls: type[BaseSettings]) -> dict[str, list[str]]:
    """`#:` comment lines written directly above each field in the class source."""
    comments: dict[str, list[str]] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*:", stripped)
        if match:
            comments[match.group(1)] = pending
        pending = []
    return comments


def default_text(value: object) -> str:
    if value is None or isinstance(value, SecretStr) or value == [] or value is PydanticUndefined:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def section(name: str, cls: type[BaseSettings]) -> str:
    doc = (inspect.getdoc(cls) or cls.__name__).splitlines()[0]
    lines = [f"# --- {name}: {doc}"]
    comments = field_comments(cls)
    for field, env_name in env_names(cls).items():
        info = cls.model_fields[field]
        if "not a setting" in (info.description or ""):
            continue
        notes = comments.get(field) or ([info.description] if info.description else [])
        lines += [f"# {note}" for note in notes]
        lines.append(f"{env_name}={default_text(info.default)}")
    return "\n".join(lines)


def render() -> str:
    sections = [section(name, info.annotation) for name, info in Settings.model_fields.items()  # type: ignore[arg-type]
                if isinstance(info.annotation, type) and issubclass(info.annotation, BaseSettings)]
    return HEADER + "\n" + "\n\n".join(sections) + "\n"


def main() -> None:
    target = ROOT / ".env.example"
    if "--check" in sys.argv[1:]:
        sys.exit(0 if target.read_text(encoding="utf-8") == render() else 1)
    target.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
