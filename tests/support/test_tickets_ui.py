"""The ticket screens over HTTP: the queue's saved views and filters in the URL, SLA badges, bulk assign, the ticket
page's replies, notes and quick changes, the requester's page (public messages only, replies reopen); tenants and roles."""

from __future__ import annotations

import re

import httpx

from tests.factories import Tenants
from tests.helpers import browser_client, browser_login, csrf_of
from tests.support.test_tickets_api import open_ticket

HX = {"HX-Request": "true"}


async def test_the_queue_keeps_its_view_and_filters_in_the_url_and_shows_sla_badges(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    support = await tenants.add_user(admin, "support")
    mine = await open_ticket(client, admin, title="Printer on fire", priority="critical", assigned_to=support.user_id)
    theirs = await open_ticket(client, admin, title="Wrong VAT", priority="low", category="billing")
    await browser_login(client, support)
    page = await client.get("/tickets")
    assert page.status_code == 200 and "Printer on fire" in page.text and "Wrong VAT" in page.text
    assert re.search(r'class="badge sla-(ok|soon)">Due in', page.text), "an SLA countdown per ticket"
    my_view = await client.get("/tickets?view=mine", headers={**HX, "HX-Target": "ticket-results"})
    assert (
        my_view.text.lstrip().startswith('<div id="ticket-results"')
        and "Printer on fire" in my_view.text
        and "Wrong VAT" not in my_view.text
    )
    assert my_view.headers["hx-push-url"] == "/tickets?view=mine"
    filtered = await client.get("/tickets?view=all&priority=low&q=vat", headers={**HX, "HX-Target": "ticket-results"})
    assert "Wrong VAT" in filtered.text and "Printer" not in filtered.text
    assert filtered.headers["hx-push-url"] == "/tickets?view=all&priority=low&q=vat"
    assert "No tickets in this view" in (await client.get("/tickets?view=breached")).text
    assert (await client.get("/tickets?status=nonsense&view=sideways")).status_code == 200, "odd values fall back, and say so"

    token = csrf_of(page.text)
    bulk = await client.post(
        "/tickets/bulk-assign",
        data={"_csrf_token": token, "ids": [str(mine["id"]), str(theirs["id"])], "bulk_assignee": str(admin.user_id), "view": "all"},
        headers={**HX, "HX-Target": "ticket-results"},
    )
    assert bulk.status_code == 200 and "Assigned 2 tickets to" in bulk.text
    listed = (await client.get(f"/v2/support/tickets?assigned_to={admin.user_id}", headers=admin.auth)).json()
    assert listed["total"] == 2


async def test_answering_a_ticket_with_a_reply_and_a_note_and_what_the_customer_sees(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    support = await tenants.add_user(admin, "support")
    ticket = await open_ticket(client, admin)
    await browser_login(client, support)
    page = await client.get(f"/tickets/{ticket['id']}")
    assert page.status_code == 200 and "SLA clock" in page.text and "Mon-Fri 09:00-17:00" in page.text
    token = csrf_of(page.text)
    base = f"/tickets/{ticket['id']}/comments"
    empty = await client.post(
        base, data={"_csrf_token": token, "content": "  ", "visibility": "public"}, headers={**HX, "HX-Target": "ticket"}
    )
    assert empty.status_code == 422 and 'id="err-content"' in empty.text
    reply = await client.post(
        base,
        data={"_csrf_token": token, "content": "We are on it.", "visibility": "public", "then_status": "waiting"},
        headers={**HX, "HX-Target": "ticket"},
    )
    assert reply.status_code == 200 and "Reply sent to the customer" in reply.text
    note = await client.post(
        base,
        data={"_csrf_token": token, "content": "Customer is on the legacy plan", "visibility": "internal"},
        headers={**HX, "HX-Target": "ticket"},
    )
    assert note.status_code == 200 and "Internal note added" in note.text
    assert 'class="message internal"' in note.text and "Customer is on the legacy plan" in note.text
    detail = (await client.get(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth)).json()
    assert detail["status"] == "waiting" and [c["is_internal"] for c in detail["comments"]] == [False, True]

    quick = await client.post(
        f"/tickets/{ticket['id']}", data={"_csrf_token": token, "priority": "urgent"}, headers={**HX, "HX-Target": "ticket"}
    )
    assert quick.status_code == 200 and "Saved:" in quick.text
    assert (await client.get(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth)).json()["priority"] == "urgent"

    customer_url = detail["customer_url"].removeprefix("http://testserver")
    async with browser_client(client._transport.app) as customer:  # type: ignore[attr-defined]
        seen = await customer.get(customer_url)
        assert seen.status_code == 200 and "We are on it." in seen.text and "legacy plan" not in seen.text
        answered = await customer.post(customer_url, data={"_csrf_token": csrf_of(seen.text), "content": "Still broken, please hurry"})
        assert answered.status_code == 200 and "your reply was sent" in answered.text and "Still broken" in answered.text
        assert (await customer.get(customer_url[:-3] + "abc")).status_code == 404
    reopened = (await client.get(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth)).json()
    assert reopened["status"] == "open" and reopened["comments"][-1]["author_type"] == "customer"


async def test_roles_and_tenants_on_the_screens(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    agent = await tenants.add_user(admin, "agent")
    finance = await tenants.add_user(admin, "finance")
    other = await tenants.create(plan="enterprise")
    given = await open_ticket(client, admin, title="Agent owned", assigned_to=agent.user_id)
    hidden = await open_ticket(client, admin, title="Desk only")
    foreign = await open_ticket(client, other, title="Other tenant's")

    await browser_login(client, agent)
    queue = await client.get("/tickets?view=all")
    assert "Agent owned" in queue.text and "Desk only" not in queue.text and 'name="bulk_assignee"' not in queue.text
    assert (await client.get(f"/tickets/{hidden['id']}")).status_code == 404
    assert (await client.get(f"/tickets/{foreign['id']}")).status_code == 404
    own = await client.get(f"/tickets/{given['id']}")
    assert own.status_code == 200 and 'name="assigned_to"' not in own.text, "agents cannot reassign"
    token = csrf_of(own.text)
    refused = await client.post(f"/tickets/{hidden['id']}/comments", data={"_csrf_token": token, "content": "x", "visibility": "public"})
    assert refused.status_code == 404

    async with browser_client(client._transport.app) as books:  # type: ignore[attr-defined]
        await browser_login(books, finance)
        assert (await books.get("/tickets")).status_code == 403
        assert (await books.get(f"/tickets/{given['id']}")).status_code == 403
        home = await books.get("/")
        assert 'href="/tickets"' not in home.text, "finance has no Tickets link"
