"""Persisted callback outbox: at-least-once, ordered per operation, retried with backoff, never silent.

Each pending event is one JSON file `DATA_DIR/outbox/<operation_id>/<ns>-<event_id>.json` holding the
exact body to send, written once: every retry sends the same bytes. Only the oldest file of an
operation is attempted, so events of one operation arrive in order; a file is deleted once the
receiver answered 2xx and its id is noted in `outbox-delivered/<operation_id>`, so the same event
enqueued again (a step re-run after a crash) is not sent twice. After CALLBACK_MAX_ATTEMPTS failures
an event moves to `outbox-dead/`. Operations with pending events are kept in memory (the folder is
scanned once at start), so idle operations cost nothing per pass.

A pass that fails (a state write refused, the disk full) is logged, reported to /readyz as degraded
and retried with backoff; the loop never ends on an error.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Protocol

import httpx
from loguru import logger
from pydantic import BaseModel

from app.core import metrics
from app.core.errors import describe
from app.core.settings import Settings
from app.models.events import CallbackEvent
from app.services.backend import backoff_s
from app.services.callbacks import signing
from app.services.health import Health
from app.state.atomic import atomic_write_json, read_json

COMPONENT = "callback outbox"
FINAL_EVENTS = ("operation.succeeded", "operation.failed", "operation.cancelled")


class PendingDelivery(BaseModel):
    url: str
    event: CallbackEvent
    #: the exact JSON sent on every attempt (empty in files written before it existed: the event is sent)
    body: str = ""
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None

    def payload(self) -> bytes:
        return (self.body or self.event.model_dump_json()).encode()


class CallbackOutbox(Protocol):
    """Where pipeline steps put their callback events; `run` delivers them (JSON files or PostgreSQL)."""

    async def enqueue(self, event: CallbackEvent, url: str | None) -> None: ...
    async def run(self) -> None: ...
    async def aclose(self) -> None: ...


async def post_event(client: httpx.AsyncClient, settings: Settings, url: str, event_id: str,
                     body: bytes) -> str | None:
    """POST one signed event; None when the receiver answered 2xx, else what went wrong."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        signing.EVENT_ID_HEADER: event_id,
        signing.TIMESTAMP_HEADER: timestamp,
    }
    if settings.callbacks.CALLBACK_SECRET:
        secret = settings.callbacks.CALLBACK_SECRET.get_secret_value()
        headers[signing.SIGNATURE_HEADER] = signing.sign(secret, timestamp, body)
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}"
    return None if response.is_success else f"HTTP {response.status_code}"


class Outbox:
    def __init__(self, settings: Settings, *, client: httpx.AsyncClient | None = None,
                 health: Health | None = None):
        self.settings = settings
        self.dir = settings.state.DATA_DIR / "outbox"
        self.dead_dir = settings.state.DATA_DIR / "outbox-dead"
        self.delivered_dir = settings.state.DATA_DIR / "outbox-delivered"
        self.health = health or Health()
        self._client = client or httpx.AsyncClient(timeout=settings.callbacks.CALLBACK_TIMEOUT_S)
        self._wake = asyncio.Event()
        self._enqueue_lock = asyncio.Lock()
        #: operations with pending events; None until the first pass has scanned the folder
        self._active: set[str] | None = None

    async def enqueue(self, event: CallbackEvent, url: str | None) -> None:
        """Persist an event for delivery; an event id already pending or delivered is a no-op."""
        if not url:
            return
        folder = self.dir / event.operation_id
        async with self._enqueue_lock:
            if await asyncio.to_thread(self._known, folder, event):
                return
            path = folder / f"{time.time_ns():020d}-{event.event_id}.json"
            pending = PendingDelivery(url=url, event=event, body=event.model_dump_json())
            await asyncio.to_thread(atomic_write_json, path, pending.model_dump(mode="json"))
            if self._active is not None:
                self._active.add(event.operation_id)
        self._wake.set()

    def _known(self, folder: Path, event: CallbackEvent) -> bool:
        if folder.exists() and any(folder.glob(f"*-{event.event_id}.json")):
            return True
        return event.event_id in self._delivered_ids(event.operation_id)

    def _delivered_ids(self, operation_id: str) -> set[str]:
        try:
            return set((self.delivered_dir / operation_id).read_text().split())
        except FileNotFoundError:
            return set()

    def wake(self) -> None:
        """Look for due events now, rescanning the folder (events were put back from outbox-dead)."""
        self._active = None
        self._wake.set()

    async def run(self) -> None:
        """Deliver forever; wakes on enqueue or when the next retry falls due. A failing pass is retried."""
        failures = 0
        while True:
            try:
                next_due = await self.deliver_due()
            except Exception as exc:
                failures += 1
                logger.opt(exception=exc).error("callback delivery pass failed ({} in a row)", failures)
                self.health.failing(COMPONENT, describe(exc))
                next_due = time.time() + backoff_s(failures, base_s=0.5, max_s=30.0)
            else:
                if failures:
                    failures = 0
                self.health.ok(COMPONENT)
            self._wake.clear()
            timeout = None if next_due is None else max(next_due - time.time(), 0.05)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    async def deliver_due(self) -> float | None:
        """One pass over the operations with pending events; returns when the earliest pending retry is due."""
        if self._active is None:
            self._active = set(await asyncio.to_thread(self._scan))
        heads = await asyncio.to_thread(self._heads, sorted(self._active))
        results = await asyncio.gather(*(self._deliver_head(op, path) for op, path in heads.items()))
        due = [t for t in results if t is not None]
        return min(due) if due else None

    def _scan(self) -> list[str]:
        return [p.name for p in self.dir.iterdir() if p.is_dir()] if self.dir.exists() else []

    def _heads(self, operations: list[str]) -> dict[str, Path | None]:
        heads: dict[str, Path | None] = {}
        for operation_id in operations:
            folder = self.dir / operation_id
            files = sorted(p for p in folder.glob("*.json") if not p.name.startswith(".")) if folder.exists() else []
            heads[operation_id] = files[0] if files else None
        return heads

    async def _deliver_head(self, operation_id: str, path: Path | None) -> float | None:
        if path is None:
            if await asyncio.to_thread(_remove_empty, self.dir / operation_id) and self._active is not None:
                self._active.discard(operation_id)
            return None
        raw = await asyncio.to_thread(read_json, path)
        if raw is None:
            return time.time()
        pending = PendingDelivery.model_validate(raw)
        if pending.next_attempt_at > time.time():
            return pending.next_attempt_at
        error = await self._post(pending)
        metrics.CALLBACK_DELIVERIES.labels("delivered" if error is None else "failed").inc()
        if error is None:
            await asyncio.to_thread(self._mark_delivered, path, pending.event)
            return time.time()  # the next event of this operation may go right away
        return await self._record_failure(path, pending, error)

    def _mark_delivered(self, path: Path, event: CallbackEvent) -> None:
        marker = self.delivered_dir / event.operation_id
        if event.event in FINAL_EVENTS:
            marker.unlink(missing_ok=True)  # a finished operation never runs again: nothing left to dedupe
        else:
            marker.parent.mkdir(parents=True, exist_ok=True)
            with marker.open("a") as handle:
                handle.write(event.event_id + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        path.unlink(missing_ok=True)

    async def _post(self, pending: PendingDelivery) -> str | None:
        return await post_event(self._client, self.settings, pending.url, pending.event.event_id, pending.payload())

    async def _record_failure(self, path: Path, pending: PendingDelivery, error: str) -> float | None:
        pending.attempts += 1
        pending.last_error = error
        event = pending.event
        if pending.attempts >= self.settings.callbacks.CALLBACK_MAX_ATTEMPTS:
            logger.error("callback {} for {} dead-lettered after {} attempts: {}",
                         event.event_id, event.operation_id, pending.attempts, error)
            await asyncio.to_thread(self._move_to_dead, path, pending)
            metrics.CALLBACK_DELIVERIES.labels("dead_lettered").inc()
            return time.time()
        delay = backoff_s(pending.attempts, base_s=self.settings.callbacks.CALLBACK_RETRY_BASE_S,
                          max_s=self.settings.callbacks.CALLBACK_RETRY_MAX_S)
        pending.next_attempt_at = time.time() + delay
        logger.warning("callback {} ({}) failed: {}; retry {} in {:.1f}s",
                       event.event_id, event.event, error, pending.attempts, delay)
        await asyncio.to_thread(atomic_write_json, path, pending.model_dump(mode="json"))
        return pending.next_attempt_at

    def _move_to_dead(self, path: Path, pending: PendingDelivery) -> None:
        target = self.dead_dir / pending.event.operation_id / path.name
        atomic_write_json(target, pending.model_dump(mode="json"))
        path.unlink(missing_ok=True)

    async def aclose(self) -> None:
        await self._client.aclose()


def _remove_empty(folder: Path) -> bool:
    """Remove a drained operation's folder; False when an event arrived meanwhile (it stays active)."""
    try:
        folder.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True
