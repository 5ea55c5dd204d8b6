"""Tickets through the JSON API (NeuraCRM §6.1): the requester's contact, the queue's filters, replies and internal
notes, the customer's view, status changes and the SLA clocks, breaches published once, roles and tenants."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx

from app.support.jobs import find_sla_breaches
from tests.factories import Account, Tenants

TICKET = {
    "title": "Login Issues",
    "description": "Users unable to access dashboard after recent update",
    "priority": "high",
    "category": "technical",
    "customer_email": "support@customer.com",
    "customer_name": "John Customer",
}


async def open_ticket(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v2/support/tickets", headers=who.auth, json={**TICKET, **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def events_of(db: asyncpg.Connection, kind: str, ticket_id: int) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT data FROM outbox_event WHERE event_type = $1 AND subject_id = $2 ORDER BY id", kind, ticket_id)
    return [json.loads(r["data"]) for r in rows]


async def test_the_documented_ticket_links_or_creates_its_requester_and_publishes_the_event(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create(plan="enterprise")
    created = await client.post("/v2/support/tickets", headers=admin.auth, json=TICKET)
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert created.headers["location"] == f"/v2/support/tickets/{ticket['id']}"
    assert (ticket["title"], ticket["status"], ticket["priority"], ticket["category"]) == ("Login Issues", "open", "high", "technical")
    contact = (await client.get(f"/v2/contacts/{ticket['customer_id']}", headers=admin.auth)).json()
    assert (contact["name"], contact["email"]) == ("John Customer", "support@customer.com"), "the requester became a contact"
    again = await open_ticket(client, admin, title="Still locked out", customer_email="SUPPORT@customer.com", customer_name=None)
    assert again["customer_id"] == ticket["customer_id"] and again["customer_name"] == "John Customer", "the same contact is linked"
    by_id = await open_ticket(client, admin, customer_email=None, customer_name=None, customer_id=ticket["customer_id"])
    assert by_id["customer_email"] == "support@customer.com"
    assert ticket["first_response_due_at"] and ticket["resolution_due_at"] and not ticket["sla_breached"]
    assert ticket["first_response_due_at"] < ticket["resolution_due_at"]
    assert ticket["sentiment"] in ("negative", "neutral", "positive") and ticket["urgency"] in ("low", "medium", "high")
    [event] = await events_of(db, "ticket.created", ticket["id"])
    assert event["ticket_id"] == ticket["id"] and event["customer_email"] == "support@customer.com" and event["priority"] == "high"
    detail = (await client.get(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth)).json()
    assert detail["comments"] == [] and detail["customer_url"].startswith("http://testserver/support/requests/")


async def test_the_queue_filters_searches_sorts_and_pages(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    support = await tenants.add_user(admin, "support")
    a = await open_ticket(client, admin, title="Invoice shows wrong VAT", priority="low", category="billing", assigned_to=support.user_id)
    b = await open_ticket(client, admin, title="Site down", priority="critical", customer_email="ops@acme.test", customer_name="Ops")
    c = await open_ticket(client, admin, title="Password reset mail missing", priority="medium")
    await client.patch(f"/v2/support/tickets/{c['id']}", headers=admin.auth, json={"status": "resolved"})

    async def ids(query: str) -> list[int]:
        response = await client.get(f"/v2/support/tickets?{query}", headers=admin.auth)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["data"]]

    assert await ids("") == [c["id"], b["id"], a["id"]], "newest first"
    assert await ids("status=open") == [b["id"], a["id"]]
    assert await ids("status=open,resolved&priority=critical,medium") == [c["id"], b["id"]]
    assert await ids(f"assigned_to={support.user_id}") == [a["id"]]
    assert await ids("unassigned=true") == [c["id"], b["id"]]
    assert await ids(f"customer_id={b['customer_id']}") == [b["id"]]
    assert await ids("category=billing") == [a["id"]]
    assert await ids("q=vat") == [a["id"]]
    assert await ids("q=acme") == [b["id"]], "the requester's e-mail is searched"
    assert await ids("sort=priority") == [b["id"], c["id"], a["id"]]
    assert await ids("sort=due&status=open") == [b["id"], a["id"]], "the critical ticket is due first"
    assert await ids("breached=true") == [] and len(await ids("breached=false")) == 3
    page = (await client.get("/v2/support/tickets?limit=2&offset=2", headers=admin.auth)).json()
    assert (page["total"], page["limit"], page["offset"], [t["id"] for t in page["data"]]) == (3, 2, 2, [a["id"]])
    bad = await client.get("/v2/support/tickets?status=pending", headers=admin.auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    assert (await client.get("/v2/support/tickets?sort=title", headers=admin.auth)).status_code == 422


async def test_replies_and_notes_the_customer_sees_only_public_ones_and_a_customer_reply_reopens(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create(plan="enterprise")
    ticket = await open_ticket(client, admin)
    note = await client.post(
        f"/v2/support/tickets/{ticket['id']}/comments", headers=admin.auth, json={"content": "Looks like the SSO bug", "is_internal": True}
    )
    assert note.status_code == 201 and note.json()["is_internal"] is True
    assert (await client.get(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth)).json()["first_responded_at"] is None, (
        "an internal note is no answer to the customer"
    )
    reply = await client.post(
        f"/v2/support/tickets/{ticket['id']}/comments",
        headers=admin.auth,
        json={"content": "I've identified the issue. Working on a fix.", "is_internal": False},
    )
    assert reply.status_code == 201 and reply.json()["author_type"] == "staff"
    detail = (await client.get(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth)).json()
    assert detail["first_responded_at"] is not None and [c["is_internal"] for c in detail["comments"]] == [True, False]

    view = (await client.get(f"/v2/support/tickets/{ticket['id']}/customer-view", headers=admin.auth)).json()
    assert [m["content"] for m in view["messages"]] == ["I've identified the issue. Working on a fix."]
    assert "SSO" not in json.dumps(view)
    page = await client.get(view["url"].removeprefix("http://testserver"))
    assert page.status_code == 200 and "Working on a fix" in page.text and "SSO bug" not in page.text
    forged = view["url"].removeprefix("http://testserver")[:-4] + "0000"
    assert (await client.get(forged)).status_code == 404

    waiting = await client.patch(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth, json={"status": "waiting"})
    assert waiting.json()["sla_paused"] is True and waiting.json()["resolution_due_at"] is None, "the clock stands still"
    answer = await client.post(
        f"/v2/support/tickets/{ticket['id']}/comments",
        headers=admin.auth,
        json={"content": "This is unacceptable, it is still broken!", "from_customer": True},
    )
    assert answer.status_code == 201 and answer.json()["author_type"] == "customer" and answer.json()["sentiment"] == "negative"
    reopened = (await client.get(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth)).json()
    assert reopened["status"] == "open" and reopened["resolution_due_at"] is not None and reopened["sentiment"] == "negative"
    changes = [e["changed_fields"] for e in await events_of(db, "ticket.updated", ticket["id"])]
    assert changes[-1] == ["last_customer_reply_at", "sentiment", "sentiment_score", "status", "urgency"] or "status" in changes[-1]
    added = await events_of(db, "ticket.comment_added", ticket["id"])
    assert [e["is_internal"] for e in added] == [True, False, False]


async def test_waiting_pauses_the_sla_and_resolving_stops_it(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create(plan="enterprise")
    ticket = await open_ticket(client, admin, priority="low")
    await client.patch(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth, json={"status": "waiting"})
    sla = (await client.get(f"/v2/support/tickets/{ticket['id']}/sla", headers=admin.auth)).json()
    assert sla["resolution"]["paused"] is True and sla["resolution"]["due_at"] is None
    assert sla["pauses"][0][1] is None and sla["business_hours"] == "Mon-Fri 09:00-17:00" and sla["time_zone"] == "UTC"
    assert sla["resolution"]["target_minutes"] == 4800 and sla["first_response"]["target_minutes"] == 960
    resumed = (await client.patch(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth, json={"status": "in_progress"})).json()
    assert resumed["sla_paused"] is False and resumed["resolution_due_at"] is not None
    resolved = (await client.patch(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth, json={"status": "resolved"})).json()
    assert resolved["resolved_at"] is not None and resolved["resolution_due_at"] is not None, "a met clock keeps its due time"
    after = (await client.get(f"/v2/support/tickets/{ticket['id']}/sla", headers=admin.auth)).json()
    assert after["resolution"]["met_at"] == resolved["resolved_at"]
    closed = (await client.patch(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth, json={"status": "closed"})).json()
    assert closed["closed_at"] and closed["resolved_at"] == resolved["resolved_at"]
    reopened = (await client.patch(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth, json={"status": "open"})).json()
    assert reopened["resolved_at"] is None and reopened["closed_at"] is None


async def test_a_breach_is_published_once_by_the_cron(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create(plan="enterprise")
    late = await open_ticket(client, admin, priority="critical")
    on_time = await open_ticket(client, admin, priority="critical")
    await db.execute(
        "UPDATE ticket SET first_response_due_at = now() - interval '1 minute', next_due_at = now() - interval '1 minute' WHERE id = $1",
        late["id"],
    )
    assert await find_sla_breaches({}) == 1
    assert await find_sla_breaches({}) == 0, "reported once"
    [event] = await events_of(db, "ticket.sla_breached", late["id"])
    assert event["sla"] == "first_response" and event["ticket_id"] == late["id"] and event["sla_breached"] is True
    assert await events_of(db, "ticket.sla_breached", on_time["id"]) == []
    listed = (await client.get("/v2/support/tickets?breached=true", headers=admin.auth)).json()["data"]
    assert [t["id"] for t in listed] == [late["id"]]
    # Answering it late now does not report it again.
    await client.post(f"/v2/support/tickets/{late['id']}/comments", headers=admin.auth, json={"content": "Sorry for the wait"})
    assert len(await events_of(db, "ticket.sla_breached", late["id"])) == 1
    # A reply past the due time that no cron flagged yet is reported by the reply itself.
    await db.execute("UPDATE ticket SET first_response_due_at = now() - interval '1 minute' WHERE id = $1", on_time["id"])
    await client.post(f"/v2/support/tickets/{on_time['id']}/comments", headers=admin.auth, json={"content": "Here to help"})
    assert [e["sla"] for e in await events_of(db, "ticket.sla_breached", on_time["id"])] == ["first_response"]


async def test_roles_and_tenants(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    other = await tenants.create(plan="enterprise")
    support = await tenants.add_user(admin, "support")
    agent = await tenants.add_user(admin, "agent")
    finance = await tenants.add_user(admin, "finance")
    theirs = await open_ticket(client, admin, assigned_to=agent.user_id)
    colleague = await open_ticket(client, support, title="Not the agent's")
    foreign = await open_ticket(client, other)

    for path in ("", f"/{theirs['id']}", f"/{theirs['id']}/sla", f"/{theirs['id']}/customer-view"):
        denied = await client.get(f"/v2/support/tickets{path}", headers=finance.auth)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "INSUFFICIENT_PERMISSIONS", path
    assert (await client.post("/v2/support/tickets", headers=finance.auth, json=TICKET)).status_code == 403
    for path in (f"/{foreign['id']}", f"/{foreign['id']}/sla", f"/{foreign['id']}/customer-view"):
        assert (await client.get(f"/v2/support/tickets{path}", headers=admin.auth)).status_code == 404, path
    assert (await client.patch(f"/v2/support/tickets/{foreign['id']}", headers=admin.auth, json={"status": "closed"})).status_code == 404
    assert (
        await client.post(f"/v2/support/tickets/{foreign['id']}/comments", headers=admin.auth, json={"content": "x"})
    ).status_code == 404
    assert [t["id"] for t in (await client.get("/v2/support/tickets", headers=other.auth)).json()["data"]] == [foreign["id"]]

    # Agents: only their own tickets, and they cannot hand them out.
    mine = [t["id"] for t in (await client.get("/v2/support/tickets", headers=agent.auth)).json()["data"]]
    assert mine == [theirs["id"]]
    assert (await client.get(f"/v2/support/tickets/{colleague['id']}", headers=agent.auth)).status_code == 404
    assert (
        await client.post(f"/v2/support/tickets/{theirs['id']}/comments", headers=agent.auth, json={"content": "On it"})
    ).status_code == 201
    give = await client.patch(f"/v2/support/tickets/{theirs['id']}", headers=agent.auth, json={"assigned_to": support.user_id})
    assert give.status_code == 403
    bulk = await client.post(
        "/v2/support/tickets/bulk-assign", headers=agent.auth, json={"ticket_ids": [theirs["id"]], "assigned_to": agent.user_id}
    )
    assert bulk.status_code == 403
    own = await open_ticket(client, agent, title="Caller's boiler")
    assert (
        own["created_by"] == agent.user_id and (await client.get(f"/v2/support/tickets/{own['id']}", headers=agent.auth)).status_code == 200
    )

    # Support works every ticket and assigns; nobody can give a ticket to finance or to another tenant's person.
    done = await client.post(
        "/v2/support/tickets/bulk-assign",
        headers=support.auth,
        json={"ticket_ids": [theirs["id"], colleague["id"]], "assigned_to": support.user_id},
    )
    assert done.status_code == 201 and done.json() == {"assigned": 2, "ticket_ids": sorted([theirs["id"], colleague["id"]])}
    to_finance = await client.patch(f"/v2/support/tickets/{colleague['id']}", headers=support.auth, json={"assigned_to": finance.user_id})
    assert to_finance.status_code == 422 and to_finance.json()["error"]["details"]["field"] == "assigned_to"
    mixed = await client.post(
        "/v2/support/tickets/bulk-assign", headers=support.auth, json={"ticket_ids": [colleague["id"], foreign["id"]], "assigned_to": None}
    )
    assert mixed.status_code == 422
    assert (await client.get(f"/v2/support/tickets/{colleague['id']}", headers=support.auth)).json()["assigned_to"] == support.user_id


async def test_bad_input_is_refused_and_changes_nothing(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    other = await tenants.create(plan="enterprise")
    foreign = await open_ticket(client, other)
    cases = [
        ({"title": ""}, "title"),
        ({"priority": "whenever"}, "priority"),
        ({"customer_email": "not-an-email"}, "customer_email"),
        ({"customer_email": None, "customer_id": foreign["customer_id"]}, "customer_id"),
        ({"id": 7}, "id"),
        ({"tags": ["a"] * 21}, "tags"),
    ]
    for change, field in cases:
        response = await client.post("/v2/support/tickets", headers=admin.auth, json={**TICKET, **change})
        assert response.status_code == 422, (change, response.text)
        assert response.json()["error"]["details"]["field"] == field, (change, response.text)
    assert (await client.get("/v2/support/tickets", headers=admin.auth)).json()["total"] == 0
    contacts = (await client.get("/v2/contacts", headers=admin.auth)).json()
    assert contacts["total"] == 0, "a refused ticket creates no contact"
    ticket = await open_ticket(client, admin)
    for body in ({"status": "pending"}, {"content": ""}):
        path = f"/v2/support/tickets/{ticket['id']}" + ("/comments" if "content" in body else "")
        method = client.post if "content" in body else client.patch
        assert (await method(path, headers=admin.auth, json=body)).status_code == 422
    current = await client.get(f"/v2/support/tickets/{ticket['id']}", headers=admin.auth)
    stale = await client.patch(
        f"/v2/support/tickets/{ticket['id']}", headers={**admin.auth, "If-Match": '"stale"'}, json={"priority": "low"}
    )
    assert stale.status_code == 412
    fresh = await client.patch(
        f"/v2/support/tickets/{ticket['id']}", headers={**admin.auth, "If-Match": current.headers["etag"]}, json={"priority": "low"}
    )
    assert fresh.status_code == 200 and fresh.json()["priority"] == "low"


async def test_sla_settings_time_new_tickets_by_the_tenants_hours(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(plan="enterprise")
    support = await tenants.add_user(admin, "support")
    policies = (await client.get("/v2/support/sla-policies", headers=support.auth)).json()
    assert [(p["priority"], p["first_response_minutes"], p["is_default"]) for p in policies[:2]] == [
        ("low", 960, True),
        ("medium", 480, True),
    ]
    assert (
        await client.put(
            "/v2/support/sla-policies/high", headers=support.auth, json={"first_response_minutes": 5, "resolution_minutes": 10}
        )
    ).status_code == 403
    bad = await client.put(
        "/v2/support/sla-policies/high", headers=admin.auth, json={"first_response_minutes": 50, "resolution_minutes": 10}
    )
    assert bad.status_code == 422
    assert (
        await client.put("/v2/support/sla-policies/never", headers=admin.auth, json={"first_response_minutes": 5, "resolution_minutes": 10})
    ).status_code == 404
    # Every day, all day: due times are exact wall-clock offsets.
    hours = {"work_days": [1, 2, 3, 4, 5, 6, 7], "opens_at": "00:00", "closes_at": "23:59", "holiday_country": None}
    assert (await client.put("/v2/support/business-hours", headers=admin.auth, json=hours)).status_code == 200
    set_high = await client.put(
        "/v2/support/sla-policies/high", headers=admin.auth, json={"first_response_minutes": 5, "resolution_minutes": 10}
    )
    assert set_high.status_code == 200 and set_high.json()["is_default"] is False
    ticket = await open_ticket(client, admin)
    created = datetime.fromisoformat(ticket["created_at"])
    due = datetime.fromisoformat(ticket["first_response_due_at"])
    if created.time() < datetime(2000, 1, 1, 23, 50).time():  # not near the daily closing minute
        assert due - created == timedelta(minutes=5)
    holidays = await client.put("/v2/support/business-hours", headers=admin.auth, json={**hours, "holiday_country": "ZZ"})
    assert holidays.status_code == 422 and holidays.json()["error"]["details"]["field"] == "holiday_country"
    closing = await client.put("/v2/support/business-hours", headers=admin.auth, json={**hours, "opens_at": "18:00", "closes_at": "09:00"})
    assert closing.status_code == 422
    england = await client.put(
        "/v2/support/business-hours", headers=admin.auth, json={**hours, "holiday_country": "GB", "holiday_subdivision": "ENG"}
    )
    assert england.status_code == 200 and england.json()["holiday_subdivision"] == "ENG"


async def test_the_documented_sentiment_example_is_negative_and_urgent(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    finance = await tenants.add_user(admin, "finance")
    body = {"text": "I'm very disappointed with the service. The response time is unacceptable.", "context": "support_ticket"}
    response = await client.post("/v2/sentiment-analysis/analyze", headers=admin.auth, json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["success"] is True
    data = result["data"]
    assert (data["sentiment"], data["urgency"], data["suggested_action"]) == ("negative", "high", "Escalate to senior support agent")
    assert data["score"] < -0.5 and 0.8 < data["confidence"] <= 1
    assert data["key_phrases"][:3] == ["disappointed", "unacceptable", "response time"]
    happy = (
        await client.post("/v2/sentiment-analysis/analyze", headers=admin.auth, json={"text": "Thanks, that fixed it, great help!"})
    ).json()
    assert happy["data"]["sentiment"] == "positive" and happy["data"]["urgency"] == "low"
    assert (await client.post("/v2/sentiment-analysis/analyze", headers=finance.auth, json=body)).status_code == 403
    assert (await client.post("/v2/sentiment-analysis/analyze", headers=admin.auth, json={"text": ""})).status_code == 422
