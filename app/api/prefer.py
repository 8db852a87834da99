"""How long a POST waits for its operation: the `Prefer` header (RFC 7240) over SYNC_WAIT_S.

- `Prefer: respond-async` → answer 202 at once, whatever SYNC_WAIT_S says;
- `Prefer: wait=N` → wait up to N seconds (at most SYNC_WAIT_MAX_S); `wait=0` answers at once;
- `Prefer: respond-async, wait=N` → wait up to N seconds, then answer 202 if it is still running
  (RFC 7240 §4.1: the client prefers an asynchronous answer if processing takes longer than N s);
- no preference → SYNC_WAIT_S (0 = at once).

The preferences honoured are named in `Preference-Applied`; unknown or malformed ones are ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.core.settings import AnswerSettings


@dataclass(frozen=True)
class AnswerMode:
    #: seconds to wait for the operation to end; 0 = answer at once
    wait_s: float
    #: when the wait ends with the operation still running: 202 (True) or 504 (False)
    async_on_timeout: bool
    #: the `Preference-Applied` header, when the client expressed a preference
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def waits(self) -> bool:
        return self.wait_s > 0


def parse_prefer(values: list[str] | None) -> dict[str, str]:
    """Preference name (lower case) → value ("" when it has none); the first of a name wins.

    Each header is a comma-separated list of `token[=value]` with optional `;param`s (ignored)."""
    preferences: dict[str, str] = {}
    for header in values or []:
        for item in _split(header, ","):
            head = _split(item, ";")[0].strip() if item.strip() else ""
            if not head:
                continue
            name, _, value = head.partition("=")
            name, value = name.strip().lower(), value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            preferences.setdefault(name, value)
    return preferences


def answer_mode(prefer: list[str] | None, settings: AnswerSettings) -> AnswerMode:
    """The answer a request gets, from its `Prefer` headers and the settings."""
    preferences = parse_prefer(prefer)
    respond_async = "respond-async" in preferences
    wait = _seconds(preferences.get("wait"))
    applied: list[str] = []
    if respond_async:
        applied.append("respond-async")
    if wait is not None:
        wait = min(wait, settings.SYNC_WAIT_MAX_S)
        applied.append(f"wait={wait:g}")
    headers = {"Preference-Applied": ", ".join(applied)} if applied else {}
    if wait is not None:
        return AnswerMode(wait, respond_async, headers)
    if respond_async:
        return AnswerMode(0.0, True, headers)
    return AnswerMode(settings.SYNC_WAIT_S, False, headers)


def _seconds(value: str | None) -> float | None:
    """A `wait` value: non-negative seconds (RFC 7240 says an integer; a decimal is accepted)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _split(text: str, separator: str) -> list[str]:
    """Split on `separator` outside double quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
