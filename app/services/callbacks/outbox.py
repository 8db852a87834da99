"""Persisted callback outbox: at-least-once, ordered per operation, retried with backoff.

Each pending event is one JSON file `DATA_DIR/outbox/<operation_id>/<ns>-<event_id>.json`. Only the
oldest file of an operation is ever attempted, so events of one operation arrive in order; a file
is deleted once the receiver answered 2xx. After CALLBACK_MAX_ATTEMPTS failures it moves to
`outbox-dead/` so one broken event does not block the operation forever.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from loguru import logger
from pydantic import BaseModel

from app.core import metrics
from app.core.settings import Settings
from app.models.events import CallbackEvent
from app.services.backend import backoff_s
from app.services.callbacks import signing
from app.state.atomic import atomic_write_json, read_json


class PendingDelivery(BaseModel):
    url: str
    event: CallbackEvent
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None



class Outbox:
    def __init__(self, settings: Settings, *, client: httpx.AsyncClient | None = None):
        self.settings = settings
        self.dir = settings.state.DATA_DIR / "outbox"
        self.dead_dir = settings.state.DATA_DIR / "outbox-dead"
        self._client = client or httpx.AsyncClient(timeout=settings.callbacks.CALLBACK_TIMEOUT_S)
        self._wake = asyncio.Event()
        self._enqueue_lock = asyncio.Lock()

    async def enqueue(self, event: CallbackEvent, url: str | None) -> None:
        """Persist an event for delivery; a second enqueue of the same event id is a no-op."""
        if not url:
            return
        folder = self.dir / event.operation_id
        async with self._enqueue_lock:
            if folder.exists() and any(folder.glob(f"*-{event.event_id}.json")):
                return
            path = folder / f"{time.time_ns():020d}-{event.event_id}.json"
            pending = PendingDelivery(url=url, event=event)
            await asyncio.to_thread(atomic_write_json, path, pending.model_dump(mode="json"))
        self._wake.set()

    def wake(self) -> None:
        """Look for due events now (after events were put back from outbox-dead)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver forever; wakes on enqueue or when the next retry falls due."""
        while True:
            next_due = await self.deliver_due()
            self._wake.clear()
            timeout = None if next_due is None else max(next_due - time.time(), 0.05)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    async def deliver_due(self) -> float | None:
        """One pass over all operations; returns when the earliest pending retry is due."""
        heads = await asyncio.to_thread(self._heads)
        results = await asyncio.gather(*(self._deliver_head(path) for path in heads))
        due = [t for t in results if t is not None]
        return min(due) if due else None

    def _heads(self) -> list[Path]:
        if not self.dir.exists():
            return []
        heads = []
        for folder in self.dir.iterdir():
            files = sorted(p for p in folder.glob("*.json") if not p.name.startswith("."))
            if files:
                heads.append(files[0])
        return heads

    async def _deliver_head(self, path: Path) -> float | None:
        raw = await asyncio.to_thread(read_json, path)
        if raw is None:
            return None
        pending = PendingDelivery.model_validate(raw)
        if pending.next_attempt_at > time.time():
            return pending.next_attempt_at
        error = await self._post(pending)
        metrics.CALLBACK_DELIVERIES.labels("delivered" if error is None else "failed").inc()
        if error is None:
            await asyncio.to_thread(path.unlink, True)
            return time.time()  # the next event of this operation may go right away
        return await self._record_failure(path, pending, error)

    async def _post(self, pending: PendingDelivery) -> str | None:
        body = pending.event.model_dump_json().encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            signing.EVENT_ID_HEADER: pending.event.event_id,
            signing.TIMESTAMP_HEADER: timestamp,
        }
        if self.settings.callbacks.CALLBACK_SECRET:
            secret = self.settings.callbacks.CALLBACK_SECRET.get_secret_value()
            headers[signing.SIGNATURE_HEADER] = signing.sign(secret, timestamp, body)
        try:
            response = await self._client.post(pending.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}"
        return None if response.is_success else f"HTTP {response.status_code}"

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
