"""The call screens over HTTP: the log's filters in the URL, logging a call from a ticket (wait and talk in the
person's words, errors next to the fields), the analytics screen; roles and tenants."""

from __future__ import annotations

import httpx

from tests.calls.test_calls_api import at, log
from tests.factories import Tenants
from tests.helpers import browser_client, browser_login, csrf_of
from tests.support.test_tickets_api import open_ticket


async def test_log_a_call_from_a_ticket_and_read_the_log_and_analytics(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    support = await tenants.add_user(admin, "support")
    ticket = await open_ticket(client, admin)
    await log(client, admin, direction="inbound", status="abandoned", started_at=at(9), queue="sales")
    await browser_login(client, support)
    page = await client.get(f"/tickets/{ticket['id']}")
    assert f'href="/calls/new?ticket_id={ticket["id"]}&amp;contact_id={ticket["customer_id"]}"' in page.text
    form = await client.get(f"/calls/new?ticket_id={ticket['id']}&contact_id={ticket['customer_id']}")
    assert form.status_code == 200 and f"About ticket #{ticket['id']}" in form.text
    token = csrf_of(form.text)
    fields = {"_csrf_token": token, "ticket_id": str(ticket["id"]), "contact_id": str(ticket["customer_id"]), "direction": "outbound",
              "status": "completed", "to_number": "+971501234567", "started_at": "2026-12-07T10:00", "wait_seconds": "15",
              "talk_minutes": "4", "disposition": "resolved", "notes": "Walked them through the reset"}  # fmt: skip
    bad = await client.post("/calls", data={**fields, "to_number": "call me"})
    assert bad.status_code == 422 and "has-error" in bad.text and "Walked them through" in bad.text
    done = await client.post("/calls", data=fields)
    assert done.status_code == 303 and done.headers["location"] == f"/tickets/{ticket['id']}"
    calls = (await client.get(f"/v2/calls?ticket_id={ticket['id']}", headers=admin.auth)).json()["data"]
    assert len(calls) == 1 and (calls[0]["wait_seconds"], calls[0]["talk_seconds"], calls[0]["agent_id"]) == (15, 240, support.user_id)
    assert calls[0]["contact_id"] == ticket["customer_id"] and calls[0]["started_at"] == "2026-12-07T10:00:00Z"

    filtered = await client.get("/calls?status=completed", headers={"HX-Request": "true", "HX-Target": "call-results"})
    assert filtered.text.lstrip().startswith('<div id="call-results"') and "Walked them through" in filtered.text
    assert "Abandoned" not in filtered.text and filtered.headers["hx-push-url"] == "/calls?status=completed"
    charts = await client.get("/calls/analytics?period_type=weekly&start_date=2026-12-07&end_date=2026-12-13")
    kpis = charts.text.replace("\n", "")
    assert charts.status_code == 200 and "<svg" in charts.text and '>2</span><span class="kpi-label">Calls' in kpis
    assert "sales" in charts.text and "50%" in charts.text  # one of two calls answered within 20 s


async def test_roles_and_tenants_on_the_call_screens(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    agent = await tenants.add_user(admin, "agent")
    finance = await tenants.add_user(admin, "finance")
    other = await tenants.create(plan="enterprise")
    await log(client, admin, status="completed", started_at=at(10), notes="Admin's own call")
    await log(client, agent, status="completed", started_at=at(11), notes="Agent call")
    await log(client, other, status="completed", started_at=at(12), notes="Other tenant")
    await browser_login(client, agent)
    mine = await client.get("/calls")
    assert "Agent call" in mine.text and "Admin&#39;s own call" not in mine.text and "Other tenant" not in mine.text
    assert (await client.get("/calls/analytics")).status_code == 403
    async with browser_client(client._transport.app) as books:  # type: ignore[attr-defined]
        await browser_login(books, finance)
        assert (await books.get("/calls")).status_code == 403
        assert (await books.get("/calls/new")).status_code == 403
        assert 'href="/calls"' not in (await books.get("/")).text


async def test_a_lead_and_a_contact_page_offer_to_log_a_call(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    finance = await tenants.add_user(admin, "finance")
    lead = (await client.post("/v2/leads", headers=admin.auth, json={"name": "Caller", "phone": "+971501112233"})).json()
    contact = (await client.post("/v2/contacts", headers=admin.auth, json={"name": "Callee"})).json()
    await browser_login(client, admin)
    assert f'href="/calls/new?lead_id={lead["id"]}' in (await client.get(f"/leads/{lead['id']}")).text
    assert f'href="/calls/new?contact_id={contact["id"]}"' in (await client.get(f"/contacts/{contact['id']}")).text
    form = await client.get("/calls/new", params={"lead_id": lead["id"]})
    assert form.status_code == 200 and f'value="{lead["id"]}"' in form.text
    client.cookies.clear()
    await browser_login(client, finance)
    assert "/calls/new" not in (await client.get(f"/leads/{lead['id']}")).text, "finance logs no calls"
