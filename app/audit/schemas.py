"""Audit log entries as the API returns them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.core.schemas import ResponseBody


class AuditEntry(ResponseBody):
    """Who did what, when, from where."""

    id: int
    actor: str
    actor_user_id: int | None
    action: str
    target_type: str
    target_id: str
    ip: str
    user_agent: str
    details: dict[str, Any]
    created_at: datetime
