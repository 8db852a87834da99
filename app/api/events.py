"""`GET /api/v1/operations/{id}/events`: an operation's callback events as Server-Sent Events.

Each SSE message is one event exactly as its callback carries it: `id:` is its `event_id`, `event:` its
name (`operation.stage_completed`, `operation.succeeded`…), `data:` the callback body. The stream
starts with the operation's first event — or after `Last-Event-ID` (header, or `last_event_id` query
for clients that cannot set headers) — and ends after the final event. A reconnect after the final
event is answered 204, which tells a browser's EventSource to stop.

With `?progress=true` the stream also carries `event: progress` messages without an id (so they never
move `Last-Event-ID`): the operation's status and progress whenever they change, for progress bars.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.api.deps import StoreDep, require_api_key
from app.api.errors import ERRORS, READ
from app.core.errors import NotFound
from app.core.ids import Identifier
from app.models.operation import Operation
from app.state.events import events_after
from app.state.store import StateStore

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_api_key)], tags=["events"],
                   responses={**ERRORS, **READ})
#: How often a stream with `progress=true` looks at the operation's progress.
PROGRESS_POLL_S = 0.5

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "`text/event-stream`: `id:` event_id, `event:` event name, `data:` the callback body",
          "content": {"text/event-stream": {}}},
    204: {"description": "The operation ended and every event was already read (after Last-Event-ID)"},
}


@router.get("/operations/{operation_id}/events", responses=STREAM_DOC, response_class=Response)
async def operation_events(
    operation_id: Identifier, request: Request, store: StoreDep,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[str | None, Query(max_length=100, description="Resume after this event id")] = None,
    progress: Annotated[bool, Query(description="Also send `progress` messages (no id)")] = False,
    user_id: Annotated[Identifier | None, Query(description="When given, must own the operation")] = None,
    x_user_id: Annotated[Identifier | None, Header(alias="X-User-Id")] = None,
) -> Response:
    """Stream the operation's events in order until its final event (resumable with Last-Event-ID)."""
    op = await store.get_operation(operation_id)
    if op is None or (user_id or x_user_id or op.user_id) != op.user_id:
        raise NotFound("operation_not_found", f"operation {operation_id} does not exist")
    after = last_event_id_header or last_event_id
    if op.status.terminal and not events_after(await store.events.read(operation_id), after):
        return Response(status_code=204)
    settings = request.app.state.settings.observability
    stream = event_stream(store, operation_id, after, poll_s=settings.EVENTS_POLL_S, progress=progress)
    return EventSourceResponse(stream, ping=settings.EVENTS_PING_S, headers={"Cache-Control": "no-store",
                                                                          "X-Accel-Buffering": "no"})


async def event_stream(store: StateStore, operation_id: str, after: str | None, *, poll_s: float,
                       progress: bool = False) -> AsyncIterator[ServerSentEvent]:
    """The operation's events after `after`, then each new one as it is logged, until the final one."""
    log = store.events
    last, shown = after, None
    wait_s = min(poll_s, PROGRESS_POLL_S) if progress else poll_s
    while True:
        changed = log.changed(operation_id)
        for logged in events_after(await log.read(operation_id), last):
            yield ServerSentEvent(data=logged.body, id=logged.event_id, event=logged.event)
            last = logged.event_id
            if logged.final:
                log.release(operation_id, changed)
                return
        op = await store.get_operation(operation_id)
        if op is None:
            return
        if progress and (snapshot := _progress(op)) != shown:
            shown = snapshot
            yield ServerSentEvent(data=json.dumps(snapshot, ensure_ascii=False), event="progress")
        if op.status.terminal:
            # The final event is logged before the operation turns terminal: read the log once more.
            for logged in events_after(await log.read(operation_id), last):
                yield ServerSentEvent(data=logged.body, id=logged.event_id, event=logged.event)
            log.release(operation_id, changed)
            return  # an operation older than the event log has no final event to wait for
        try:
            async with asyncio.timeout(wait_s):
                await changed.wait()
        except TimeoutError:
            pass


def _progress(op: Operation) -> dict[str, Any]:
    return {"operation_id": op.operation_id, "status": op.status, "stage": op.progress.stage,
            "progress": op.progress.view(), "stage_seconds": op.stage_seconds}
