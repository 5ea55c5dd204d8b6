"""Appointments through the JSON API: booking, no double-booking (also under concurrency), roles, tenants,
the lead's next appointment (§3.1), events, and iCalendar files and feeds read back with `icalendar`."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from icalendar import Calendar

from tests.factories import Tenants, make_lead

SOON = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)


def at(hours: float, minutes: int = 60) -> dict[str, str]:
    """starts_at/ends_at `hours` after SOON, lasting `minutes`."""
    start = SOON + timedelta(hours=hours)
    return {"starts_at": start.isoformat().replace("+00:00", "Z"), "ends_at": (start + timedelta(minutes=minutes)).isoformat()}


async def book(client: httpx.AsyncClient, auth: dict[str, str], lead_id: Any, **fields: Any) -> httpx.Response:
    return await client.post("/v2/appointments", headers=auth, json={"lead_id": lead_id, **at(0), **fields})


def events(ics: bytes) -> list[Any]:
    return list(Calendar.from_ical(ics).walk("VEVENT"))


async def test_booking_fills_the_leads_appointment_and_publishes_the_event(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Ali Hassan", phone="+971501234567")
    created = await book(client, admin.auth, lead["id"], location="Marina Gate 2", notes="Bring the keys")
    assert created.status_code == 201, created.text
    appointment = created.json()
    assert created.headers["location"] == f"/v2/appointments/{appointment['id']}"
    assert appointment["agent_id"] == admin.user_id, "a person books for themselves unless they name someone"
    assert (appointment["type"], appointment["status"], appointment["lead_name"]) == ("viewing", "scheduled", "Ali Hassan")
    assert appointment["starts_at"] == at(0)["starts_at"] and appointment["deal_id"] is None and appointment["property_id"] is None

    detail = (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).json()
    assert detail["appointment"] == {
        "id": appointment["id"],
        "type": "VIEWING",
        "scheduled_date": appointment["starts_at"],
        "status": "SCHEDULED",
        "agent_id": admin.user_id,
        "agent_name": appointment["agent_name"],
    }
    event = await db.fetchrow("SELECT * FROM outbox_event WHERE event_type = 'lead.appointment_scheduled'")
    assert event is not None and event["subject_type"] == "lead" and event["subject_id"] == lead["id"]
    data = json.loads(event["data"])
    assert data["lead_id"] == lead["id"] and data["name"] == "Ali Hassan" and data["phone"] == "+971501234567"
    assert data["appointment"]["id"] == appointment["id"] and data["appointment"]["type"] == "VIEWING"
    assert data["appointment"]["scheduled_date"] == appointment["starts_at"] and data["conversation_url"].endswith(f"/leads/{lead['id']}")
    timeline = (await client.get(f"/v2/leads/{lead['id']}/timeline", headers=admin.auth)).json()["data"]
    assert timeline[0]["kind"] == "appointment_booked" and timeline[0]["summary"].startswith("Viewing booked for ")

    cancelled = await client.patch(f"/v2/appointments/{appointment['id']}", headers=admin.auth, json={"status": "cancelled"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).json()["appointment"] is None, "only active ones show"
    kinds = [r["event_type"] for r in await db.fetch("SELECT event_type FROM outbox_event WHERE subject_id = $1 ORDER BY id", lead["id"])]
    assert kinds[-2:] == ["appointment.updated", "appointment.cancelled"]


async def test_an_agent_cannot_be_booked_twice_at_once(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    ali = await make_lead(client, admin, name="Ali Hassan")
    sara = await make_lead(client, admin, name="Sara Ahmed")
    first = (await book(client, admin.auth, ali["id"])).json()
    clash = await book(client, admin.auth, sara["id"], **at(0.5))
    assert clash.status_code == 409, clash.text
    error = clash.json()["error"]
    assert error["code"] == "CONFLICT" and "Ali Hassan" in error["message"] and "already booked" in error["message"]
    named = error["details"]["clashing_appointment"]
    assert named["id"] == first["id"] and named["lead_name"] == "Ali Hassan" and named["starts_at"] == first["starts_at"]
    assert (await book(client, admin.auth, sara["id"], **at(1))).status_code == 201, "back to back is fine"
    await client.patch(f"/v2/appointments/{first['id']}", headers=admin.auth, json={"status": "cancelled"})
    assert (await book(client, admin.auth, sara["id"], **at(0, 30))).status_code == 201, "a cancelled one frees the time"
    reopened = await client.patch(f"/v2/appointments/{first['id']}", headers=admin.auth, json={"status": "scheduled"})
    assert reopened.status_code == 409 and reopened.json()["error"]["details"]["clashing_appointment"]["lead_name"] == "Sara Ahmed"
    agent = await tenants.add_user(admin, "agent")
    assert (await book(client, admin.auth, sara["id"], agent_id=agent.user_id)).status_code == 201, "another agent is free"


async def test_concurrent_bookings_of_one_agent_let_exactly_one_win(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    leads = [await make_lead(client, admin, name=f"Buyer {n}") for n in range(6)]
    answers = await asyncio.gather(*(book(client, admin.auth, lead["id"], **at(0, 45 + n)) for n, lead in enumerate(leads)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409, 409, 409], [a.text for a in answers]
    winner = next(a.json() for a in answers if a.status_code == 201)
    for loser in (a for a in answers if a.status_code == 409):
        assert loser.json()["error"]["details"]["clashing_appointment"]["id"] == winner["id"]
    listed = (await client.get("/v2/appointments", headers=admin.auth)).json()
    assert listed["total"] == 1


async def test_bad_input_is_refused_with_field_details_and_changes_nothing(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    lead = await make_lead(client, admin)
    foreign = await make_lead(client, other)
    cases = [
        ({**at(0), "ends_at": at(-1)["starts_at"]}, "ends_at"),
        ({"ends_at": at(0)["ends_at"]}, "starts_at"),
        ({**at(0), "starts_at": "2026-12-07 10:00"}, "starts_at"),
        ({**at(0), "type": "dinner"}, "type"),
        ({**at(0), "status": "maybe"}, "status"),
        ({**at(0), "surprise": 1}, "surprise"),
        ({**at(0), "location": "x" * 301}, "location"),
    ]
    for body, field in cases:
        answer = await client.post("/v2/appointments", headers=admin.auth, json={"lead_id": lead["id"], **body})
        assert answer.status_code == 422, (field, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and error["details"]["field"] == field, (field, error)
    unknown_lead = await book(client, admin.auth, foreign["id"])
    assert unknown_lead.status_code == 422 and unknown_lead.json()["error"]["details"]["field"] == "lead_id", "another tenant's lead"
    not_a_deal = await client.post("/v2/appointments", headers=admin.auth, json={"lead_id": lead["id"], **at(0), "deal_id": 10**9})
    assert not_a_deal.status_code == 422 and not_a_deal.json()["error"]["details"]["reason"] == "unknown_reference"
    for field in ("lead_id", "deal_id"):
        huge = await client.post("/v2/appointments", headers=admin.auth, json={"lead_id": lead["id"], **at(0), field: 2**63})
        assert huge.status_code == 422 and huge.json()["error"]["details"]["reason"] == "unknown_reference", field
    assert (await client.get("/v2/appointments", headers=admin.auth, params={"lead_id": 2**63})).json()["total"] == 0
    finance = await tenants.add_user(admin, "finance")
    not_an_agent = await book(client, admin.auth, lead["id"], agent_id=finance.user_id)
    assert not_an_agent.status_code == 422 and not_an_agent.json()["error"]["details"]["field"] == "agent_id"
    assert (await client.get("/v2/appointments", headers=admin.auth)).json()["total"] == 0
    good = (await book(client, admin.auth, lead["id"])).json()
    moved_back = await client.patch(f"/v2/appointments/{good['id']}", headers=admin.auth, json={"ends_at": good["starts_at"]})
    assert moved_back.status_code == 422 and moved_back.json()["error"]["details"]["field"] == "ends_at"
    assert (await client.get(f"/v2/appointments/{good['id']}", headers=admin.auth)).json()["ends_at"] == good["ends_at"]
    bad_filter = await client.get("/v2/appointments", headers=admin.auth, params={"status": "later"})
    assert bad_filter.status_code == 422 and bad_filter.json()["error"]["details"]["field"] == "status"


async def test_another_tenants_appointment_is_not_found(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    theirs = (await book(client, other.auth, (await make_lead(client, other))["id"])).json()
    for method, path, body in (
        ("GET", f"/v2/appointments/{theirs['id']}", None),
        ("GET", f"/v2/appointments/{theirs['id']}/ics", None),
        ("PATCH", f"/v2/appointments/{theirs['id']}", {"status": "cancelled"}),
        ("DELETE", f"/v2/appointments/{theirs['id']}", None),
    ):
        answer = await client.request(method, path, headers=admin.auth, json=body)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "RESOURCE_NOT_FOUND", (method, path)
    assert (await client.get("/v2/appointments", headers=admin.auth)).json()["total"] == 0
    assert (await client.get(f"/v2/appointments/{theirs['id']}", headers=other.auth)).json()["status"] == "scheduled", "untouched"


async def test_agents_manage_their_own_support_and_finance_only_read(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    colleague = await tenants.add_user(admin, "agent")
    support = await tenants.add_user(admin, "support")
    finance = await tenants.add_user(admin, "finance")
    manager = await tenants.add_user(admin, "manager")
    lead = await make_lead(client, admin)
    mine = await book(client, agent.auth, lead["id"])
    assert mine.status_code == 201 and mine.json()["agent_id"] == agent.user_id
    for_someone_else = await book(client, agent.auth, lead["id"], agent_id=colleague.user_id, **at(3))
    assert for_someone_else.status_code == 403 and for_someone_else.json()["error"]["code"] == "INSUFFICIENT_PERMISSIONS"
    theirs = (await book(client, manager.auth, lead["id"], agent_id=colleague.user_id, **at(5))).json()
    assert (await client.patch(f"/v2/appointments/{theirs['id']}", headers=agent.auth, json={"status": "cancelled"})).status_code == 403
    assert (await client.delete(f"/v2/appointments/{theirs['id']}", headers=agent.auth)).status_code == 403
    took_it = await client.patch(f"/v2/appointments/{mine.json()['id']}", headers=agent.auth, json={"agent_id": colleague.user_id})
    assert took_it.status_code == 403, "an agent cannot hand their appointment to someone else"
    confirmed = await client.patch(f"/v2/appointments/{mine.json()['id']}", headers=agent.auth, json={"status": "confirmed"})
    assert confirmed.status_code == 200
    for reader in (support, finance):
        assert (await client.get("/v2/appointments", headers=reader.auth)).json()["total"] == 2
        assert (await book(client, reader.auth, lead["id"], **at(8))).status_code == 403
        assert (await client.patch(f"/v2/appointments/{theirs['id']}", headers=reader.auth, json={"notes": "x"})).status_code == 403
        assert (await client.post("/v2/appointments/calendar-feed", headers=reader.auth)).status_code == 403
    _, read_key = await tenants.api_key(admin, "read")
    assert (await book(client, {"X-API-Key": read_key}, lead["id"], agent_id=agent.user_id, **at(9))).status_code == 403
    _, write_key = await tenants.api_key(admin, "write", resources=["appointments"])
    by_key = await book(client, {"X-API-Key": write_key}, lead["id"], agent_id=agent.user_id, **at(9))
    assert by_key.status_code == 201, "an integration books for a named agent"
    assert (await book(client, {"X-API-Key": write_key}, lead["id"], **at(12))).json()["error"]["details"]["field"] == "agent_id"
    assert (await client.delete(f"/v2/appointments/{theirs['id']}", headers=manager.auth)).status_code == 204


async def test_filters_and_sorting(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    ali, sara = await make_lead(client, admin, name="Ali"), await make_lead(client, admin, name="Sara")
    late = (await book(client, admin.auth, ali["id"], **at(24), type="call")).json()
    early = (await book(client, agent.auth, sara["id"], **at(1))).json()
    await client.patch(f"/v2/appointments/{late['id']}", headers=admin.auth, json={"status": "confirmed"})

    async def ids(**params: Any) -> list[int]:
        answer = await client.get("/v2/appointments", headers=admin.auth, params=params)
        assert answer.status_code == 200, answer.text
        return [a["id"] for a in answer.json()["data"]]

    assert await ids() == [early["id"], late["id"]]
    assert await ids(sort="-starts_at") == [late["id"], early["id"]]
    assert await ids(lead_id=ali["id"]) == [late["id"]]
    assert await ids(agent_id=agent.user_id) == [early["id"]]
    assert await ids(status="confirmed") == [late["id"]]
    assert await ids(status="scheduled,confirmed") == [early["id"], late["id"]]
    assert await ids(status="  ") == [early["id"], late["id"]], "a blank status is no filter"
    assert await ids(type="call") == [late["id"]]
    assert await ids(starts_after=at(12)["starts_at"]) == [late["id"]]
    assert await ids(starts_before=at(12)["starts_at"]) == [early["id"]]


async def test_ics_download_reads_back_in_utc(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Ali Hassan")
    appointment = (await book(client, admin.auth, lead["id"], location="Marina Gate 2")).json()
    answer = await client.get(f"/v2/appointments/{appointment['id']}/ics", headers=admin.auth)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
    (event,) = events(answer.content)
    assert str(event["uid"]) == f"appointment-{admin.tenant_id}-{appointment['id']}@atrium"
    assert event.decoded("dtstart") == SOON and event.decoded("dtend") == SOON + timedelta(hours=1)
    assert event.decoded("dtstart").tzinfo is not None and event.decoded("dtstart").utcoffset() == timedelta(0)
    assert str(event["summary"]) == "Viewing with Ali Hassan" and str(event["location"]) == "Marina Gate 2"
    assert str(event["status"]) == "TENTATIVE"
    await client.patch(f"/v2/appointments/{appointment['id']}", headers=admin.auth, json={"status": "cancelled"})
    (event,) = events((await client.get(f"/v2/appointments/{appointment['id']}/ics", headers=admin.auth)).content)
    assert str(event["status"]) == "CANCELLED"


async def test_calendar_feed_by_secret_address(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    lead = await make_lead(client, admin, name="Ali Hassan")
    mine = (await book(client, agent.auth, lead["id"])).json()
    await book(client, admin.auth, lead["id"])  # the admin's own: not in the agent's feed
    cancelled = (await book(client, agent.auth, lead["id"], **at(4))).json()
    await client.patch(f"/v2/appointments/{cancelled['id']}", headers=agent.auth, json={"status": "cancelled"})

    feed = await client.post("/v2/appointments/calendar-feed", headers=agent.auth)
    assert feed.status_code == 201
    url = feed.json()["url"]
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    stored = await db.fetchval("SELECT token_hash FROM calendar_feed WHERE user_id = $1", agent.user_id)
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored, "only a hash is kept"
    path = url.removeprefix("http://testserver").split("://", 1)[-1]
    path = path[path.index("/calendar/") :]
    answer = await client.get(path)  # no session, no key: a calendar app
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
    found = {str(e["uid"]): str(e["status"]) for e in events(answer.content)}
    assert found == {
        f"appointment-{admin.tenant_id}-{mine['id']}@atrium": "TENTATIVE",
        f"appointment-{admin.tenant_id}-{cancelled['id']}@atrium": "CANCELLED",
    }
    renewed = (await client.post("/v2/appointments/calendar-feed", headers=agent.auth)).json()["url"]
    assert renewed != url
    assert (await client.get(path)).status_code == 404, "a new address ends the old one"
    new_path = renewed[renewed.index("/calendar/") :]
    assert (await client.get(new_path)).status_code == 200
    assert (await client.delete("/v2/appointments/calendar-feed", headers=agent.auth)).status_code == 204
    assert (await client.get(new_path)).status_code == 404
    assert (await client.get("/calendar/not-a-real-token.ics")).status_code == 404
