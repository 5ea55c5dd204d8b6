"""Notifications of the workspace: a task given to you, a task coming due (once), an @mention in a lead's or a task's
note, each linking to its record, a live event for the bell that only its person sees; each person chooses the kinds."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from app.activities.jobs import notify_due_tasks
from tests.activities.test_activities_api import iso, plan
from tests.billing.test_invoice_batches_and_mail import Inbox
from tests.factories import Tenants, make_lead
from tests.helpers import browser_client, browser_login, csrf_of


@contextlib.contextmanager
def mail_server() -> Iterator[Inbox]:
    """A local mail server the app sends through, from now until the block ends (people invited before it got links)."""
    from aiosmtpd.controller import Controller

    from app import settings as app_settings
    from tests.e2e.browser import free_port

    box = Inbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    before = app_settings.current()
    app_settings.install(replace(before, smtp_url=f"smtp://127.0.0.1:{smtp.port}"))
    try:
        yield box
    finally:
        app_settings.install(before)
        smtp.stop()


async def _notes(db: asyncpg.Connection, user_id: int) -> list[tuple[str, str, str]]:
    rows = await db.fetch("SELECT kind, message, link FROM notification WHERE user_id = $1 ORDER BY id", user_id)
    return [(r["kind"], r["message"], r["link"]) for r in rows]


async def test_tasks_given_due_and_mentions_notify_their_people(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    other = await tenants.add_user(admin, "agent")
    agent_handle = agent.email.split("@")[0]
    lead = await make_lead(client, admin, name="Omar Haddad", agent_id=agent.user_id)
    await db.execute("UPDATE workflow SET active = false")
    given = await plan(
        client,
        admin,
        subject="Call Omar",
        owner_id=agent.user_id,
        lead_id=lead["id"],
        due_at=iso(datetime.now(UTC) + timedelta(minutes=10)),
    )
    await plan(client, agent, subject="My own", due_at=iso(datetime.now(UTC) + timedelta(days=2)))  # one's own task: no notice
    assert await _notes(db, agent.user_id) == [("task.assigned", "New task for you: Call Omar", "/my-day")]

    noted = await client.patch(
        f"/v2/leads/{lead['id']}", headers=admin.auth, json={"notes": f"@{agent_handle} please call back, cc @nobody"}
    )
    assert noted.status_code == 200
    mention = (await _notes(db, agent.user_id))[-1]
    assert mention[0] == "mention" and mention[2] == f"/leads/{lead['id']}" and "please call back" in mention[1]
    await client.patch(f"/v2/activities/{given['id']}", headers=admin.auth, json={"notes": f"@{other.email.split('@')[0]} can you cover?"})
    assert [n[0] for n in await _notes(db, other.user_id)] == ["mention"]

    assert await notify_due_tasks.function({}) == 1  # type: ignore[arg-type]
    assert await notify_due_tasks.function({}) == 0  # type: ignore[arg-type]  # told once
    assert (await _notes(db, agent.user_id))[-1] == ("task.due", "Due now: Call Omar", f"/leads/{lead['id']}")
    live = await db.fetch(
        "SELECT subject_id, data::jsonb->>'kind' AS kind FROM outbox_event WHERE event_type = 'notification.created' ORDER BY id"
    )
    assert [(r["subject_id"], r["kind"]) for r in live] == [
        (agent.user_id, "task.assigned"), (agent.user_id, "mention"), (other.user_id, "mention"), (agent.user_id, "task.due")
    ]  # fmt: skip


async def test_people_choose_what_they_are_told(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    stranger = await tenants.create()
    await browser_login(client, agent)
    page = await client.get("/notifications")
    assert page.status_code == 200 and "What you are told" in page.text and "A task is given to you" in page.text
    form = {"_csrf_token": csrf_of(page.text), "kinds": ["task.due", "mention"], "digest": "1"}
    from urllib.parse import urlencode

    saved = await client.post(
        "/notifications/preferences", content=urlencode(form, doseq=True).encode(),
        headers={"HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert saved.status_code == 200 and "Saved." in saved.text
    setting = await db.fetchrow("SELECT muted, digest FROM notification_setting WHERE user_id = $1", agent.user_id)
    assert sorted(setting["muted"]) == ["deal.changed", "task.assigned", "webhook.failed"] and setting["digest"] is True
    await plan(client, admin, subject="Muted kind", owner_id=agent.user_id)
    assert await db.fetchval("SELECT count(*) FROM notification WHERE user_id = $1", agent.user_id) == 0
    badge = await client.get("/notifications/badge", headers={"HX-Request": "true"})
    assert 'hx-trigger="refresh"' in badge.text
    async with browser_client(client._transport.app) as other:  # type: ignore[attr-defined]
        await browser_login(other, stranger)
        assert "Muted kind" not in (await other.get("/notifications")).text


async def test_the_daily_digest_is_mailed_once_in_the_morning_when_smtp_is_configured(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    from app.activities.digest import send_tenant_digests

    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    await db.execute("UPDATE workflow SET active = false")
    morning = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    await plan(client, agent, subject="Late call", type="call", due_at=iso(morning - timedelta(hours=2)))
    await db.execute(
        "INSERT INTO notification_setting (tenant_id, user_id, muted, digest) VALUES ($1, $2, '{}', true)", admin.tenant_id, agent.user_id
    )
    dawn = datetime.now(UTC).replace(hour=5, minute=0)  # before 07:00 in the agent's zone (the workspace's: UTC)
    with mail_server() as inbox:
        assert await send_tenant_digests(admin.tenant_id, dawn) == 0
        assert await send_tenant_digests(admin.tenant_id, morning) == 1
        assert await send_tenant_digests(admin.tenant_id, morning) == 0  # once a day
        recipients, raw = inbox.messages[0]
        assert recipients == [agent.email] and b"Overdue (1):" in raw and b"Late call" in raw and b"/my-day" in raw


async def test_no_digest_without_smtp(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    from app.activities.digest import send_digests

    admin = await tenants.create()
    await db.execute(
        "INSERT INTO notification_setting (tenant_id, user_id, muted, digest) VALUES ($1, $2, '{}', true)", admin.tenant_id, admin.user_id
    )
    assert await send_digests.function({}) == 0  # type: ignore[arg-type]
