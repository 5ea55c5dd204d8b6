"""The leads list people can shape, over HTTP: an agent starts on "My leads"; filters show as removable chips; chosen
columns and page size stay in the URL; a view is saved per person or shared with the team (managers) and opens the
same list again; the next-activity, overdue and last-activity columns; roles and tenants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import asyncpg
import httpx

from tests.activities.test_activities_api import iso, plan
from tests.factories import Tenants, make_lead
from tests.helpers import browser_client, browser_login, csrf_of


async def test_an_agent_shapes_the_leads_list_and_saves_the_view(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    mine = await make_lead(client, admin, name="Mine Villa", status="QUALIFIED", agent_id=agent.user_id, source="website")
    await make_lead(client, admin, name="Mine Flat", status="NEW", agent_id=agent.user_id)
    await make_lead(client, admin, name="Someone Else's", status="QUALIFIED")
    await db.execute("UPDATE workflow SET active = false")
    late = await plan(
        client, agent, type="call", subject="Call about the villa", lead_id=mine["id"], due_at=iso(datetime.now(UTC) - timedelta(hours=3))
    )
    await browser_login(client, agent)

    start = await client.get("/leads")
    assert "Mine Villa" in start.text and "Mine Flat" in start.text and "Someone Else" not in start.text  # My leads first
    assert "Agent: " in start.text  # the "my leads" filter is a chip
    everyone = await client.get("/leads?agent=any")
    assert "Someone Else" in everyone.text
    row = start.text.split(f'id="lead-{mine["id"]}"')[1].split("</tr>")[0]
    assert "Call: Call about the villa" in row and "Overdue" in row  # the next activity, overdue

    shaped = await client.get(
        f"/leads?status=QUALIFIED&agent={agent.user_id}&cols=name&cols=next&cols=source&per=50",
        headers={"HX-Request": "true", "HX-Target": "lead-results"},
    )
    pushed = unquote(shaped.headers["hx-push-url"])
    assert pushed == f"/leads?status=QUALIFIED&agent={agent.user_id}&cols=next,source&per=50"
    assert (
        "Mine Villa" in shaped.text
        and "Mine Flat" not in shaped.text
        and "<th>Source</th>" in shaped.text
        and "<th>Property</th>" not in shaped.text
    )
    assert 'aria-label="Remove the filter Status: Qualified"' in shaped.text
    chip = shaped.text.split('aria-label="Remove the filter Status: Qualified"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert "status=" not in chip and "cols=next%2Csource" in chip and "per=50" in chip  # removing a chip keeps the rest

    token = csrf_of(start.text)
    saved = await client.post(
        "/saved-views",
        data={"_csrf_token": token, "screen": "leads", "name": "Qualified, to call", "query": pushed.split("?", 1)[1] + "&offset=50"},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200 and "Qualified, to call" in saved.text and 'aria-current="true"' in saved.text
    again = await client.post("/saved-views", data={"_csrf_token": token, "screen": "leads", "name": "qualified, TO call", "query": "q=x"},
                              headers={"HX-Request": "true"})  # fmt: skip
    assert again.status_code == 422 and "already have a view with this name" in again.text
    shared = await client.post(
        "/saved-views", data={"_csrf_token": token, "screen": "leads", "name": "Team", "query": "q=x", "shared": "1"}
    )
    assert shared.status_code == 403  # agents keep their views to themselves
    reopened = await client.get("/leads")
    link = reopened.text.split(">Qualified, to call</a>")[0].rsplit('href="', 1)[1].split('"')[0]
    assert unquote(link).replace("&amp;", "&") == f"/leads?status=QUALIFIED&agent={agent.user_id}&cols=next,source&per=50"  # no offset kept
    assert (await client.get(link.replace("&amp;", "&"))).text.count("Mine Villa") >= 1
    assert late["id"]


async def test_managers_share_views_and_others_cannot_touch_them(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    manager = await tenants.add_user(admin, "manager")
    agent = await tenants.add_user(admin, "agent")
    stranger = await tenants.create()
    await browser_login(client, manager)
    token = csrf_of((await client.get("/leads")).text)
    made = await client.post(
        "/saved-views", data={"_csrf_token": token, "screen": "leads", "name": "Hot ones", "query": "temperature=hot", "shared": "1"}
    )
    assert made.status_code == 303 and made.headers["location"] == "/leads?temperature=hot"
    async with browser_client(client._transport.app) as other:  # type: ignore[attr-defined]
        await browser_login(other, agent)
        page = await other.get("/leads")
        assert ">Hot ones</a>" in page.text and 'aria-label="Remove the view Hot ones"' not in page.text
        assert (await other.post("/saved-views/1/delete", data={"_csrf_token": csrf_of(page.text)})).status_code == 403
    async with browser_client(client._transport.app) as other:  # type: ignore[attr-defined]
        await browser_login(other, stranger)
        page = await other.get("/leads")
        assert "Hot ones" not in page.text
        assert (await other.post("/saved-views/1/delete", data={"_csrf_token": csrf_of(page.text)})).status_code == 404
    removed = await client.post("/saved-views/1/delete", data={"_csrf_token": token, "screen": "leads", "query": "temperature=hot"})
    assert removed.status_code == 303
    assert "Hot ones" not in (await client.get("/leads")).text
