"""The callback event sent to the business backend: one per finished stage and one at the end."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.models.story import utcnow

_EVENT_NAMESPACE = uuid.UUID("6f1c2a8e-5b7d-4f0e-9a51-3d2b8c7e4a10")


class CallbackEvent(BaseModel):
    event_id: str
    event: str = Field(description="operation.stage_completed | operation.succeeded | operation.failed")
    operation_id: str
    type: str
    story_id: str
    user_id: str
    stage: str
    status: str
    progress: dict[str, Any]
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    created_at: datetime = Field(default_factory=utcnow)


def event_id_for(operation_id: str, event: str, stage: str) -> str:
    """Stable id, so an event re-emitted after a crash carries the id the receiver already saw."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{operation_id}/{event}/{stage}"))
