"""In-app notifications: what a person should know (a task given to them or due, a mention in a note, a deal they
watch, a failing webhook…), until they read it. Each is also a live-only `notification.created` event, so the bell
updates at once; each person chooses the kinds they get and whether a daily e-mail digest comes."""

from __future__ import annotations

import re
from datetime import datetime

import msgspec

from app.core.schemas import ResponseBody
from app.db import TenantScope, fetch, tenant_transaction

# The kinds a person may turn off (what they are told about), in the order the preferences show them.
KINDS = {
    "task.assigned": "A task is given to you",
    "task.due": "A task of yours is due",
    "mention": "Someone mentions you (@name) in a note",
    "deal.changed": "A deal you watch changes",
    "webhook.failed": "A webhook keeps failing (admins)",
}
MENTION = re.compile(r"(?<![\w@.])@([\w][\w.\-]{1,60})")
# Told people get a live event each (the bell redraws); webhooks never see them (a live-only type).
_LIVE = """INSERT INTO outbox_event (tenant_id, event_type, subject_type, subject_id, data)
           SELECT $1, 'notification.created', 'notification', t.user_id, json_build_object('user_id', t.user_id, 'kind', $2::text)
             FROM unnest($3::bigint[]) AS t(user_id)"""
_NOT_MUTED = "NOT EXISTS (SELECT 1 FROM notification_setting s WHERE s.tenant_id = $1 AND s.user_id = u.id AND {kind} = ANY(s.muted))"


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
    """A notification for each of `user_ids` still active in the tenant who has not muted `kind` (a deal's watchers, a
    task's owner…), with a live event each. Call inside the tenant's transaction; returns whom it told."""
    if not user_ids:
        return []
    added = await fetch(
        f"""INSERT INTO notification (tenant_id, user_id, kind, message, link)
           SELECT $1, u.id, $5::text, $3::text, $4::text FROM app_user u
            WHERE u.tenant_id = $1 AND u.id = ANY($2::bigint[]) AND u.is_active AND {_NOT_MUTED.format(kind="$5::text")}
        RETURNING user_id""",
        tenant_id,
        sorted(set(user_ids)),
        message[:500],
        link,
        kind,
    )
    told = [a["user_id"] for a in added]
    if told:
        await fetch(_LIVE, tenant_id, kind, told)
    return told


async def mentioned(tenant_id: int, text: str, *, besides: int | None = None) -> list[int]:
    """The active people of the tenant a text mentions: `@omar` (a first name), `@omar.haddad` (the e-mail's name) or
    `@OmarHaddad` (the full name without spaces), in any case; never `besides` (the writer). Call inside the tenant's
    transaction."""
    handles = sorted({m.lower().rstrip(".") for m in MENTION.findall(text)})[:20]
    if not handles:
        return []
    rows = await fetch(
        """SELECT id FROM app_user WHERE tenant_id = $1 AND is_active AND id <> $3 AND (
                lower(split_part(email, '@', 1)) = ANY($2::text[])
             OR lower(split_part(full_name, ' ', 1)) = ANY($2::text[])
             OR lower(replace(full_name, ' ', '')) = ANY($2::text[]))""",
        tenant_id,
        handles,
        besides or 0,
    )
    return [r["id"] for r in rows]


class Preferences(ResponseBody):
    """What a person is told: every kind of KINDS not in `muted`, and a daily e-mail digest when `digest`."""

    muted: list[str]
    digest: bool


async def preferences(scope: TenantScope) -> Preferences:
    """The caller's choices (nothing muted, no digest, until they choose)."""
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            "SELECT muted, digest FROM notification_setting WHERE tenant_id = $1 AND user_id = $2", scope.tenant_id, scope.user_id or 0
        )
    return Preferences(muted=list(rows[0]["muted"] or []), digest=bool(rows[0]["digest"])) if rows else Preferences(muted=[], digest=False)


async def set_preferences(scope: TenantScope, muted: list[str], digest: bool) -> Preferences:
    """Keep the caller's choices (unknown kinds are dropped)."""
    if scope.user_id is None:
        return Preferences(muted=[], digest=False)
    kept = [k for k in KINDS if k in muted]
    async with tenant_transaction(scope.tenant_id):
        await fetch(
            """INSERT INTO notification_setting (tenant_id, user_id, muted, digest) VALUES ($1, $2, $3, $4)
               ON CONFLICT (tenant_id, user_id) DO UPDATE SET muted = excluded.muted, digest = excluded.digest""",
            scope.tenant_id,
            scope.user_id,
            kept,
            digest,
        )
    return Preferences(muted=kept, digest=digest)


async def tell_admins(tenant_id: int, link: str, message: str, kind: str = "webhook.failed") -> tuple[list[int], str, str]:
    """A notification for each active admin of the tenant — one unread per link at a time, so a failing
    endpoint is one message, not a thousand. Call inside the tenant's transaction; returns (whom to e-mail,
    message, link)."""
    added = await fetch(
        f"""INSERT INTO notification (tenant_id, user_id, kind, message, link)
           SELECT $1, u.id, $4::text, $2::text, $3::text FROM app_user u
            WHERE u.tenant_id = $1 AND u.role = 'admin' AND u.is_active AND {_NOT_MUTED.format(kind="$4::text")}
              AND NOT EXISTS (SELECT 1 FROM notification n
                               WHERE n.tenant_id = $1 AND n.user_id = u.id AND n.link = $3::text AND n.read_at IS NULL)
        RETURNING user_id""",
        tenant_id,
        message,
        link,
        kind,
    )
    told = [a["user_id"] for a in added]
    if told:
        await fetch(_LIVE, tenant_id, kind, told)
    return told, message, link
