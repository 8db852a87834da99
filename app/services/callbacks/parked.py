"""The outbox as operators see it: events waiting for delivery, events parked in `outbox-dead/`, and
putting parked ones back in line.

The files are the outbox's own (`outbox.py`): `DATA_DIR/outbox/<operation_id>/<ns>-<event_id>.json`
while pending, the same name under `outbox-dead/` once CALLBACK_MAX_ATTEMPTS failed. A redelivered
event goes back under its original name, so it is again the first of its operation to be sent, with
its attempts reset; the running outbox must then be woken (`Outbox.wake`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.core.settings import Settings
from app.services.callbacks.outbox import PendingDelivery
from app.state.atomic import atomic_write_json, read_json


@dataclass(frozen=True)
class ParkedEvent:
    event_id: str
    operation_id: str
    event: str
    stage: str
    #: the receiver without query or credentials (they may carry secrets)
    target: str
    attempts: int
    last_error: str | None
    next_attempt_at: float
    dead: bool
    path: Path


def outbox_dirs(settings: Settings) -> tuple[Path, Path]:
    """(pending folder, dead-letter folder)."""
    return settings.state.DATA_DIR / "outbox", settings.state.DATA_DIR / "outbox-dead"


def counts(settings: Settings) -> tuple[int, int]:
    """(events waiting for delivery, events dead-lettered)."""
    return tuple(len(_files(folder)) for folder in outbox_dirs(settings))  # type: ignore[return-value]


def list_events(settings: Settings, *, dead: bool, limit: int = 500) -> list[ParkedEvent]:
    """Pending (or dead-lettered) events, oldest first."""
    folder = outbox_dirs(settings)[1 if dead else 0]
    found = []
    for path in _files(folder)[:limit]:
        pending = _load(path)
        if pending is not None:
            found.append(_describe(pending, path, dead))
    return found


def redeliver(settings: Settings, event_ids: set[str] | None) -> list[str]:
    """Move dead-lettered events (those in `event_ids`, or all when None) back into the outbox; their ids."""
    pending_dir, dead_dir = outbox_dirs(settings)
    moved = []
    for path in _files(dead_dir):
        pending = _load(path)
        if pending is None or (event_ids is not None and pending.event.event_id not in event_ids):
            continue
        pending.attempts, pending.next_attempt_at, pending.last_error = 0, 0.0, None
        atomic_write_json(pending_dir / path.parent.name / path.name, pending.model_dump(mode="json"))
        path.unlink(missing_ok=True)
        moved.append(pending.event.event_id)
    return moved


def _files(folder: Path) -> list[Path]:
    if not folder.exists():
        return []
    return sorted((p for p in folder.glob("*/*.json") if not p.name.startswith(".")), key=lambda p: p.name)


def _load(path: Path) -> PendingDelivery | None:
    try:
        raw = read_json(path)
        return None if raw is None else PendingDelivery.model_validate(raw)
    except ValueError:
        return None


def _describe(pending: PendingDelivery, path: Path, dead: bool) -> ParkedEvent:
    url = urlsplit(pending.url)
    host = url.hostname or ""
    target = f"{url.scheme}://{host}{f':{url.port}' if url.port else ''}{url.path}"
    event = pending.event
    return ParkedEvent(event_id=event.event_id, operation_id=event.operation_id, event=event.event, stage=event.stage,
                       target=target, attempts=pending.attempts, last_error=pending.last_error,
                       next_attempt_at=pending.next_attempt_at, dead=dead, path=path)
