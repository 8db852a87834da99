"""Every event of an operation, in the order it was emitted: `DATA_DIR/events/<operation_id>.jsonl`.

The callback outbox delivers events and may forget them once delivered; this log keeps them all, also
when no callback URL is set, so a client can read an operation's events as a stream
(`GET /api/v1/operations/{id}/events`) and resume after a disconnect. Each line is the event's JSON
exactly as the callback body carries it. An event id is written once: an event re-emitted after a
crash keeps its first line.

Appends wake the readers waiting in this process; readers in other processes notice by polling.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from app.models.events import CallbackEvent

#: Events that end an operation's stream.
FINAL_EVENTS = frozenset({"operation.succeeded", "operation.failed", "operation.cancelled"})


@dataclass(frozen=True)
class LoggedEvent:
    event_id: str
    event: str
    #: the event's JSON, byte for byte the body its callback carries
    body: str

    @property
    def final(self) -> bool:
        return self.event in FINAL_EVENTS


class EventLog:
    def __init__(self, data_dir: Path):
        self.dir = data_dir / "events"
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._changed: dict[str, asyncio.Event] = {}

    def path(self, operation_id: str) -> Path:
        return self.dir / f"{operation_id}.jsonl"

    async def append(self, event: CallbackEvent) -> CallbackEvent:
        """Log `event` and wake the readers of its operation; returns the event as logged: an id logged
        before (an event re-emitted after a crash) keeps its first body, so it is never sent in two versions."""
        body = event.model_dump_json()
        async with self._locks[event.operation_id]:
            logged = await asyncio.to_thread(_append_once, self.path(event.operation_id), event.event_id, body)
        if logged is None:
            self._changed.pop(event.operation_id, asyncio.Event()).set()
            return event
        return CallbackEvent.model_validate_json(logged)

    async def read(self, operation_id: str) -> list[LoggedEvent]:
        """The operation's events in order (none if it has no log)."""
        return await asyncio.to_thread(_read, self.path(operation_id))

    def changed(self, operation_id: str) -> asyncio.Event:
        """Set when the next event of the operation is logged in this process.

        Take it before reading the log, so an event logged in between still wakes the reader."""
        return self._changed.setdefault(operation_id, asyncio.Event())

    def release(self, operation_id: str, changed: asyncio.Event) -> None:
        """A reader that took `changed` is done (its operation ended): forget the signal if nothing waits on it."""
        if self._changed.get(operation_id) is changed and not changed.is_set():
            del self._changed[operation_id]


def events_after(events: list[LoggedEvent], last_event_id: str | None) -> list[LoggedEvent]:
    """The events after the one with `last_event_id`; all of them when it is None or not among them."""
    if last_event_id:
        for index, logged in enumerate(events):
            if logged.event_id == last_event_id:
                return events[index + 1:]
    return events


def _read(path: Path) -> list[LoggedEvent]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    events: list[LoggedEvent] = []
    seen: set[str] = set()
    for line in text.split("\n"):
        parsed = _parse(line)
        if parsed is not None and parsed.event_id not in seen:
            seen.add(parsed.event_id)
            events.append(parsed)
    return events


def _parse(line: str) -> LoggedEvent | None:
    """One logged line; None for an empty line or one a crash cut short."""
    if not line.strip():
        return None
    try:
        raw = json.loads(line)
    except ValueError:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("event_id"), str):
        return None
    return LoggedEvent(event_id=raw["event_id"], event=str(raw.get("event", "")), body=line)


def _append_once(path: Path, event_id: str, body: str) -> str | None:
    """Append `body` unless `event_id` is logged already; the body logged before, or None when appended."""
    for logged in _read(path):
        if logged.event_id == event_id:
            return logged.body
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        prefix = b""
        if size:
            with open(path, "rb") as handle:  # a line cut short by a crash is closed before the next one
                handle.seek(size - 1)
                prefix = b"" if handle.read(1) == b"\n" else b"\n"
        os.write(fd, prefix + body.encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return None
