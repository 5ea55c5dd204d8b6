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


async def tell(tenant_id: int, user_ids: list[int], link: str, message: str, kind: str) -> list[int]:
    """A notification for each of `user_ids` still active in the tenant (a deal's watchers…). Call inside the
    tenant's transaction; returns whom it told."""
    if not user_ids:
        return []
    added = await fetch(
        """INSERT INTO notification (tenant_id, user_id, kind, message, link)
           SELECT $1, u.id, $5::text, $3::text, $4::text FROM app_user u
            WHERE u.tenant_id = $1 AND u.id = ANY($2::bigint[]) AND u.is_active
        RETURNING user_id""",
        tenant_id,
        user_ids,
        message[:500],
        link,
        kind,
    )
    return [a["user_id"] for a in added]


async def tell_admins(tenant_id: int, link: str, message: str, kind: str = "webhook.failed") -> tuple[list[int], str, str]:
    """A notification for each active admin of the tenant — one unread per link at a time, so a failing
    endpoint is one message, not a thousand. Call inside the tenant's transaction; returns (whom to e-mail,
    message, link)."""
    added = await fetch(
        """INSERT INTO notification (tenant_id, user_id, kind, message, link)
           SELECT $1, u.id, $4::text, $2::text, $3::text FROM app_user u
            WHERE u.tenant_id = $1 AND u.role = 'admin' AND u.is_active
              AND NOT EXISTS (SELECT 1 FROM notification n
                               WHERE n.tenant_id = $1 AND n.user_id = u.id AND n.link = $3::text AND n.read_at IS NULL)
        RETURNING user_id""",
        tenant_id,
        message,
        link,
        kind,
    )
    return [a["user_id"] for a in added], message, link
