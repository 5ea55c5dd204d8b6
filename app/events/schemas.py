"""Timeline entries and outbox events as the API returns them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.core.schemas import ResponseBody


class TimelineEntry(ResponseBody):
    """One entry of a timeline: what changed on which record, by whom, when."""

    id: int
    subject_type: str
    subject_id: int
    kind: str
    summary: str
    changes: dict[str, Any]
    actor: str
    actor_user_id: int | None
    created_at: datetime


class EventType(ResponseBody):
    """A published event type."""

    name: str
    description: str
