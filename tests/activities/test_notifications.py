"""Notifications of the workspace: a task given to you, a task coming due (once), an @mention in a lead's or a task's
note, each linking to its record, a live event for the bell that only its person sees; each person chooses the kinds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from app.activities.jobs import notify_due_tasks
from tests.activities.test_activities_api import iso, plan
from tests.factories import Tenants, make_lead
from tests.helpers import browser_client, browser_login, csrf_of


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
