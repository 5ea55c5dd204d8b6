"""My day over HTTP: the agent's start page with the ranked call-next queue (reason shown, tel:/wa.me/mailto links),
overdue / today / upcoming tasks, the one-move outcome form (call logged, task done, next task), errors kept in the
form, the manager's team view; roles and tenants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from tests.activities.test_activities_api import iso, plan
from tests.factories import Tenants, make_lead
from tests.helpers import browser_client, browser_login, csrf_of


async def test_an_agent_starts_on_my_day_and_logs_a_call_in_one_move(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    # The built-in rule would plan the call itself (in the worker, at any moment): off before the lead is made, so the
    # lead waits in the queue for the agent.
    await db.execute("UPDATE workflow SET active = false WHERE tenant_id = $1", admin.tenant_id)
    hot = await make_lead(client, admin, name="سارة الهاشمي", phone="+971 50 123 4567", email="sara@example.com", agent_id=agent.user_id,
                          budget_max=9000000, urgency_score=10, property_type="VILLA", transaction_type="BUY", purpose="RESIDENCY",
                          preferred_location="Palm", bedrooms_min=4)  # fmt: skip
    await db.execute("DELETE FROM task")
    late = await plan(client, agent, type="email", subject="Send the brochure", due_at=iso(datetime.now(UTC) - timedelta(hours=2)))
    await browser_login(client, agent)
    home = await client.get("/")
    assert home.status_code == 200 and "<h1>My day</h1>" in home.text
    assert 'href="tel:+971501234567"' in home.text and 'href="https://wa.me/971501234567"' in home.text
    assert 'href="mailto:sara@example.com"' in home.text and 'dir="auto">سارة الهاشمي</a>' in home.text
    assert "Hot lead" in home.text and "no next step" in home.text
    assert 'id="overdue-list"' in home.text and "Send the brochure" in home.text
    token = csrf_of(home.text)

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    fields = {"_csrf_token": token, "outcome": "interested", "notes": "Wants Saturday", "next_type": "viewing",
              "next_subject": "Viewing at the Palm", "next_due_at": tomorrow.strftime("%Y-%m-%dT%H:%M")}  # fmt: skip
    bad = await client.post(f"/my-day/leads/{hot['id']}/outcome", data={**fields, "outcome": ""}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "Choose what came of it" in bad.text and "Wants Saturday" in bad.text
    assert await db.fetchval("SELECT count(*) FROM call") == 0
    done = await client.post(f"/my-day/leads/{hot['id']}/outcome", data=fields, headers={"HX-Request": "true"})
    assert done.status_code == 200, done.text
    assert done.text.lstrip().startswith('<div id="my-day"') and "Next: Viewing at the Palm" in done.text
    assert f'id="lead-{hot["id"]}"' not in done.text  # it has a next step now: out of the queue
    assert "Viewing at the Palm" in done.text.split('id="upcoming-h"')[1]
    call = await db.fetchrow("SELECT status, disposition, agent_id, lead_id FROM call")
    assert dict(call) == {"status": "completed", "disposition": "interested", "agent_id": agent.user_id, "lead_id": hot["id"]}
    # The next step is due at 10:00 in the agent's zone (the workspace's, UTC here).
    due = await db.fetchval("SELECT due_at FROM task WHERE subject = 'Viewing at the Palm'")
    assert due == tomorrow

    emailed = await client.post(f"/my-day/tasks/{late['id']}/outcome", data={"_csrf_token": token, "outcome": "done", "next_due_at": ""})
    assert emailed.status_code == 200 and "Done: Send the brochure." in emailed.text and 'id="overdue-list"' not in emailed.text
    assert await db.fetchval("SELECT done FROM task WHERE id = $1", late["id"])
    assert await db.fetchval("SELECT count(*) FROM call") == 1  # an e-mail task logs no call


async def test_managers_see_the_team_and_roles_and_tenants_are_refused(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    manager = await tenants.add_user(admin, "manager")
    agent = await tenants.add_user(admin, "agent")
    finance = await tenants.add_user(admin, "finance")
    stranger = await tenants.create()
    overdue = await plan(client, agent, type="call", subject="Late call", due_at=iso(datetime.now(UTC) - timedelta(days=1)))
    foreign = await plan(client, stranger, subject="Not yours")
    await browser_login(client, manager)
    page = await client.get("/my-day")
    assert 'id="team-load"' in page.text
    row = page.text.split('id="team-load"')[1].split(agent.email.split("@")[0].replace("agent", "Agent "))[1].split("</tr>")[0]
    assert 'class="num late">1</td>' in row  # the agent's one overdue task
    assert (await client.get("/")).text.count("<h1>My day</h1>") == 0  # managers start on the dashboard
    token = csrf_of(page.text)
    assert (await client.post(f"/my-day/tasks/{foreign['id']}/outcome", data={"_csrf_token": token, "outcome": "done"})).status_code == 404
    async with browser_client(client._transport.app) as books:  # type: ignore[attr-defined]
        await browser_login(books, finance)
        assert (await books.get("/my-day")).status_code == 403
        assert "My day" not in (await books.get("/dashboard")).text
    async with browser_client(client._transport.app) as other:  # type: ignore[attr-defined]
        await browser_login(other, agent)
        mine = await other.get("/my-day")
        assert "Late call" in mine.text and 'id="team-load"' not in mine.text
        assert (await other.get("/dashboard")).status_code == 200
        assert overdue["id"]


async def test_a_leads_page_makes_a_recommendation_a_task_in_one_click(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    finance = await tenants.add_user(admin, "finance")
    lead = await make_lead(client, admin, name="No Phone Yet", agent_id=agent.user_id)
    await browser_login(client, agent)
    page = await client.get(f"/leads/{lead['id']}")
    assert 'hx-get="/leads/{}/tasks"'.format(lead["id"]) in page.text and "Make it a task" in page.text
    card = await client.get(f"/leads/{lead['id']}/tasks", headers={"HX-Request": "true"})
    assert card.text.lstrip().startswith('<section class="card" id="lead-tasks"') and "no next step" in card.text
    made = await client.post(
        f"/leads/{lead['id']}/tasks",
        data={"_csrf_token": csrf_of(page.text), "recommendation": "Capture a phone number"},
        headers={"HX-Request": "true"},
    )
    assert made.status_code == 200 and "Planned: Capture a phone number: No Phone Yet" in made.text
    assert await db.fetchval("SELECT type FROM task WHERE lead_id = $1", lead["id"]) == "whatsapp"
    async with browser_client(client._transport.app) as books:  # type: ignore[attr-defined]
        await browser_login(books, finance)
        assert "Make it a task" not in (await books.get(f"/leads/{lead['id']}")).text
        assert (await books.get(f"/leads/{lead['id']}/tasks")).status_code == 403


async def test_my_day_speaks_the_readers_locale_and_zone(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    await plan(client, agent, subject="ملاحظة: اتصل بالعميل", due_at="2026-12-07T11:30:00Z")
    await browser_login(client, agent)
    account = await client.get("/account")
    await client.post("/account", data={"_csrf_token": csrf_of(account.text), "time_zone": "Asia/Dubai"})
    page = await client.get("/my-day", headers={"Accept-Language": "ar-AE,ar;q=0.9"})
    assert "ديسمبر" in page.text and "UTC+04" in page.text and "Times in Asia/Dubai" in page.text
    assert '<span class="item-title" dir="auto">ملاحظة: اتصل بالعميل</span>' in page.text
    english = await client.get("/my-day")
    assert "07 Dec 15:30 UTC+04" in english.text
