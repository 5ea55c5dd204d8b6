"""In-app notifications: what a person should know (a failing webhook…), until they read it."""

from __future__ import annotations

from datetime import datetime

import msgspec

from app.core.schemas import ResponseBody
from app.db import TenantScope, fetch, tenant_transaction


class Notice(ResponseBody):
    """One notification."""

    id: int
    kind: str
    message: str
    link: str
    created_at: datetime
    read_at: datetime | None


async def unread_count(scope: TenantScope) -> int:
    """How many the caller has not read."""
    if scope.user_id is None:
        return 0
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            "SELECT count(*) AS n FROM notification WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL",
            scope.tenant_id,
            scope.user_id,
        )
    return int(rows[0]["n"])


async def recent(scope: TenantScope, limit: int = 50) -> list[Notice]:
    """The caller's latest notifications, unread first."""
    if scope.user_id is None:
        return []
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            f"""SELECT id, kind, message, link, created_at, read_at FROM notification WHERE tenant_id = $1 AND user_id = $2
                ORDER BY read_at IS NOT NULL, created_at DESC LIMIT {int(limit)}""",
            scope.tenant_id,
            scope.user_id,
        )
    return [msgspec.convert(r, Notice) for r in rows]


async def mark_all_read(scope: TenantScope) -> int:
    """Mark the caller's notifications read; returns how many were unread."""
    if scope.user_id is None:
        return 0
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            "UPDATE notification SET read_at = now() WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL RETURNING id",
            scope.tenant_id,
            scope.user_id,
        )
    return len(rows)
