"""Operator endpoints: the callback outbox (list, re-deliver parked events) and signed studio links."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from app.api import session
from app.api.deps import StoreDep, require_api_key
from app.api.errors import ERRORS, READ
from app.core.errors import NotFound
from app.core.ids import Identifier
from app.core.settings import Settings
from app.services.callbacks import parked

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_api_key)], tags=["operators"],
                   responses={**ERRORS, **READ})


class RedeliverRequest(BaseModel):
    event_ids: list[str] = Field(default_factory=list, max_length=1000, description="Parked events to send again")
    all: bool = Field(False, description="Send every parked event again")


class StudioLinkRequest(BaseModel):
    story_id: Identifier | None = Field(None, description="Open this story's page; unset = the studio's list")
    ttl_s: int | None = Field(None, ge=60, le=90 * 24 * 3600, description="Unset = STUDIO_SESSION_TTL_S")


def _view(event: parked.ParkedEvent) -> dict[str, Any]:
    body = asdict(event)
    body.pop("path")
    return body


@router.get("/outbox")
async def list_outbox(request: Request,
                      state: str = Query("all", pattern="^(pending|dead|all)$")) -> dict[str, Any]:
    """Callback events waiting for delivery and those parked after CALLBACK_MAX_ATTEMPTS failures."""
    settings: Settings = request.app.state.settings
    answer: dict[str, Any] = {}
    for name, dead in (("pending", False), ("dead", True)):
        if state in (name, "all"):
            events = await asyncio.to_thread(parked.list_events, settings, dead=dead)
            answer[name] = [_view(e) for e in events]
    return answer


@router.post("/outbox/redeliver")
async def redeliver_outbox(body: RedeliverRequest, request: Request) -> dict[str, Any]:
    """Put parked callback events back in the outbox (attempts reset); they are sent again in order."""
    settings: Settings = request.app.state.settings
    wanted = None if body.all else set(body.event_ids)
    moved = await asyncio.to_thread(parked.redeliver, settings, wanted)
    outbox = getattr(request.app.state, "outbox", None)
    if outbox is not None:
        outbox.wake()
    missing = sorted(set(body.event_ids) - set(moved)) if not body.all else []
    return {"redelivered": moved, "not_found": missing}


@router.post("/studio/links")
async def studio_link(body: StudioLinkRequest, request: Request, store: StoreDep) -> dict[str, Any]:
    """A link that opens the studio (a story's page, or the list) without entering the API key."""
    settings: Settings = request.app.state.settings
    path = "/studio"
    if body.story_id is not None:
        if await store.get_story(body.story_id) is None:
            raise NotFound("story_not_found", f"story {body.story_id} does not exist", {"story_id": body.story_id})
        path = f"/studio/stories/{body.story_id}"
    ttl_s = body.ttl_s or settings.studio.STUDIO_SESSION_TTL_S
    key = session.api_key_of(request)
    url = settings.server.public_base_url + path
    if key is None:
        return {"url": url, "expires_in_s": None}
    return {"url": f"{url}?token={session.issue(key, ttl_s)}", "expires_in_s": ttl_s}
