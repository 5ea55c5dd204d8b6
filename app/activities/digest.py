"""The daily e-mail digest, for the people who chose it, when the server sends e-mail (`SMTP_URL`): each morning (from
07:00 in the person's zone) their overdue tasks, today's, and their unread notifications, once a day."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from saq.types import Context

from app.core.jobs import job
from app.db import fetch, system_transaction, tenant_transaction
from app.events.mail import deliver
from app.settings import base_url, current

MORNING = time(7, 0)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def compose(name: str, zone: ZoneInfo, overdue: list[dict[str, object]], today: list[dict[str, object]], unread: list[str]) -> str:
    """The digest's text: what is late, what is due today (times in the person's zone), what they were told."""

    def line(task: dict[str, object]) -> str:
        due = task["due_at"]
        at = due.astimezone(zone).strftime("%d %b %H:%M") if isinstance(due, datetime) else ""
        return f"  - {task['subject']} ({task['type']}, due {at})"

    parts = [f"Good morning {name},", ""]
    parts += [f"Overdue ({len(overdue)}):", *map(line, overdue), ""] if overdue else ["Nothing overdue.", ""]
    parts += [f"Due today ({len(today)}):", *map(line, today), ""] if today else ["Nothing else due today.", ""]
    if unread:
        parts += [f"Unread notifications ({len(unread)}):", *(f"  - {m}" for m in unread), ""]
    parts.append(f"Your day: {base_url()}/my-day")
    return "\n".join(parts)


async def send_tenant_digests(tenant_id: int, now: datetime) -> int:
    """Mail each person of the tenant who chose the digest and has not had today's (it is past 07:00 where they are)."""
    sent = 0
    async with tenant_transaction(tenant_id):
        people = await fetch(
            """SELECT u.id, u.email, u.full_name, coalesce(u.time_zone, t.time_zone) AS zone, s.digest_sent_on
                 FROM notification_setting s JOIN app_user u ON u.id = s.user_id AND u.tenant_id = s.tenant_id AND u.is_active
                 JOIN tenant t ON t.id = u.tenant_id
                WHERE s.tenant_id = $1 AND s.digest""",
            tenant_id,
        )
    for person in people:
        zone = _zone(person["zone"])
        local = now.astimezone(zone)
        if local.time() < MORNING or person["digest_sent_on"] == local.date():
            continue
        day_ends = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
        async with tenant_transaction(tenant_id):
            tasks = await fetch(
                """SELECT subject, type, due_at FROM task WHERE tenant_id = $1 AND owner_id = $2 AND NOT done AND due_at < $3
                    ORDER BY due_at LIMIT 50""",
                tenant_id,
                person["id"],
                day_ends,
            )
            unread = await fetch(
                "SELECT message FROM notification WHERE tenant_id = $1 AND user_id = $2 AND read_at IS NULL ORDER BY id DESC LIMIT 10",
                tenant_id,
                person["id"],
            )
        overdue = [t for t in tasks if t["due_at"] < now]
        today = [t for t in tasks if t["due_at"] >= now]
        text = compose(person["full_name"] or person["email"], zone, overdue, today, [u["message"] for u in unread])
        await deliver(person["email"], f"Your day: {len(overdue)} overdue, {len(today)} due today", text)
        async with tenant_transaction(tenant_id):
            await fetch(
                "UPDATE notification_setting SET digest_sent_on = $3 WHERE tenant_id = $1 AND user_id = $2",
                tenant_id,
                person["id"],
                local.date(),
            )
        sent += 1
    return sent


@job(key="send-digests", timeout=600, retries=2)
async def send_digests(ctx: Context) -> int:
    """Hourly: the tenants with people who chose a digest not sent today; nothing at all without SMTP_URL."""
    if not current().smtp_url:
        return 0
    async with system_transaction():
        # A day ahead of UTC at most: whoever is already on "tomorrow" may be due.
        tenants = await fetch(
            "SELECT DISTINCT tenant_id FROM notification_setting "
            "WHERE digest AND (digest_sent_on IS NULL OR digest_sent_on < current_date + 1)"
        )
    now = datetime.now(UTC)
    return sum([await send_tenant_digests(row["tenant_id"], now) for row in tenants])
