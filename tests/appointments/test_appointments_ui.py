"""The appointment screens over HTTP: the agenda by day and week, the lead's card with its booking form (errors and
double-bookings in words), status actions, .ics downloads, the feed address; tenants and roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from icalendar import Calendar
from litestar import Litestar

from tests.appointments.test_appointments_api import SOON, at, book
from tests.factories import Tenants, make_lead
from tests.helpers import browser_client, browser_login, csrf_of

DAY = SOON.date().isoformat()


async def test_agenda_by_week_and_day_keeps_its_state_in_the_url(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    lead = await make_lead(client, admin, name="Ali Hassan")
    other = await make_lead(client, admin, name="Sara Ahmed")
    await book(client, admin.auth, lead["id"], location="Marina Gate 2")
    await book(client, agent.auth, other["id"], **at(30))  # the next day or later: another day of the week (or the next week)
    await browser_login(client, admin)
    week = await client.get(f"/agenda?view=week&date={DAY}")
    assert week.status_code == 200 and "<html" in week.text
    assert "Ali Hassan" in week.text and "Marina Gate 2" in week.text and "Week of" in week.text
    day = await client.get(f"/agenda?view=day&date={DAY}", headers={"HX-Request": "true", "HX-Target": "agenda"})
    assert day.status_code == 200 and "<html" not in day.text and day.text.lstrip().startswith('<section id="agenda"')
    assert "Ali Hassan" in day.text and "Sara Ahmed" not in day.text
    assert day.headers["hx-push-url"] == f"/agenda?view=day&date={DAY}"
    only_agent = await client.get(f"/agenda?view=week&date={DAY}&agent={agent.user_id}")
    assert "Ali Hassan" not in only_agent.text
    assert "Nothing booked" in (await client.get("/agenda?view=day&date=2020-01-01")).text
    assert (await client.get("/agenda?view=sideways&date=nonsense")).status_code == 200, "odd values fall back to this week"

    other_tenant = await tenants.create()
    async with browser_client(client._transport.app) as stranger:  # type: ignore[attr-defined]
        await browser_login(stranger, other_tenant)
        assert "Ali Hassan" not in (await stranger.get(f"/agenda?view=week&date={DAY}")).text


async def test_booking_from_the_lead_page_with_errors_and_clashes_in_words(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Ali Hassan")
    other = await make_lead(client, admin, name="Sara Ahmed")
    await browser_login(client, admin)
    page = await client.get(f"/leads/{lead['id']}")
    assert f'hx-get="/leads/{lead["id"]}/appointments"' in page.text, "the lead page loads its appointments card"
    card = await client.get(f"/leads/{lead['id']}/appointments", headers={"HX-Request": "true", "HX-Target": "appointments"})
    assert card.status_code == 200 and card.text.lstrip().startswith('<section class="card" id="appointments"')
    assert "Book a viewing" in card.text and "No appointments yet" in card.text
    token = csrf_of(page.text)
    local = SOON.strftime("%Y-%m-%dT%H:%M")  # the admin's zone is UTC
    form = {"_csrf_token": token, "type": "viewing", "starts_at": local, "duration": "60", "agent_id": str(admin.user_id)}

    bad = await client.post(f"/leads/{lead['id']}/appointments", data={**form, "starts_at": "tomorrow"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and 'id="err-starts_at"' in bad.text and 'value="tomorrow"' in bad.text
    assert (await client.get("/v2/appointments", headers=admin.auth)).json()["total"] == 0

    htmx = {"HX-Request": "true"}
    booked = await client.post(f"/leads/{lead['id']}/appointments", data={**form, "location": "Marina Gate 2"}, headers=htmx)
    assert booked.status_code == 200 and "Booked: viewing on" in booked.text and "Marina Gate 2" in booked.text
    assert "appointments-changed" in booked.headers["hx-trigger"], "the lead page redraws (its next appointment, timeline)"
    detail = (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).json()
    assert detail["appointment"]["scheduled_date"] == SOON.isoformat().replace("+00:00", "Z")

    start = SOON + timedelta(minutes=30)
    clash = await client.post(
        f"/leads/{other['id']}/appointments", data={**form, "starts_at": start.strftime("%Y-%m-%dT%H:%M")}, headers={"HX-Request": "true"}
    )
    assert clash.status_code == 422
    ends = SOON + timedelta(hours=1)
    assert f"is already booked on {SOON:%d %b %Y}, {SOON:%H:%M} to {ends:%H:%M} UTC: viewing with Ali Hassan" in clash.text
    later = (SOON + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    plain = await client.post(f"/leads/{other['id']}/appointments", data={**form, "starts_at": later})
    assert plain.status_code == 303 and plain.headers["location"] == f"/leads/{other['id']}/appointments", "works without JavaScript"


async def test_status_actions_and_ics_from_the_screens(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Ali Hassan")
    appointment = (await book(client, admin.auth, lead["id"])).json()
    second = (await book(client, admin.auth, lead["id"], **at(2))).json()
    await browser_login(client, admin)
    token = csrf_of((await client.get("/agenda")).text)
    done = await client.post(
        f"/appointments/{appointment['id']}/status",
        data={"_csrf_token": token, "status": "completed", "view": "week", "date": DAY},
        headers={"HX-Request": "true", "HX-Target": "agenda"},
    )
    assert done.status_code == 200 and "marked completed" in done.text and done.text.lstrip().startswith('<section id="agenda"')
    cancel = {"_csrf_token": token, "status": "cancelled", "_from": "lead"}
    from_lead = await client.post(f"/appointments/{second['id']}/status", data=cancel, headers={"HX-Request": "true"})
    assert from_lead.status_code == 200 and 'id="appointments"' in from_lead.text and "marked cancelled" in from_lead.text
    statuses = {a["id"]: a["status"] for a in (await client.get("/v2/appointments", headers=admin.auth)).json()["data"]}
    assert statuses == {appointment["id"]: "completed", second["id"]: "cancelled"}
    odd = await client.post(f"/appointments/{appointment['id']}/status", data={"_csrf_token": token, "status": "maybe", "_from": "lead"})
    assert odd.status_code == 422 and 'role="alert"' in odd.text
    ics = await client.get(f"/appointments/{second['id']}/ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    (event,) = Calendar.from_ical(ics.content).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED" and event.decoded("dtstart") == SOON + timedelta(hours=2)


async def test_feed_address_is_shown_once_on_the_agenda(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    await browser_login(client, admin)
    token = csrf_of((await client.get("/agenda")).text)
    shown = await client.post("/agenda/calendar-feed", data={"_csrf_token": token})
    assert shown.status_code == 200 and "/calendar/" in shown.text and "shown only now" in shown.text
    again = await client.get("/agenda")
    assert "/calendar/" not in again.text and "A new one stops the old one working" in again.text


async def test_other_tenants_and_read_only_roles_are_refused(app: Litestar, client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    support = await tenants.add_user(admin, "support")
    other = await tenants.create()
    theirs_lead = await make_lead(client, other, name="Their Lead")
    theirs = (await book(client, other.auth, theirs_lead["id"])).json()
    lead = await make_lead(client, admin, name="Ali Hassan")
    mine = (await book(client, admin.auth, lead["id"])).json()
    await browser_login(client, admin)
    token = csrf_of((await client.get("/agenda")).text)
    assert (await client.get(f"/leads/{theirs_lead['id']}/appointments")).status_code == 404
    assert (await client.get(f"/appointments/{theirs['id']}/ics")).status_code == 404
    stolen = await client.post(f"/appointments/{theirs['id']}/status", data={"_csrf_token": token, "status": "cancelled"})
    assert stolen.status_code == 404
    booked_there = await client.post(
        f"/leads/{theirs_lead['id']}/appointments", data={"_csrf_token": token, "starts_at": "2030-01-01T10:00", "duration": "60"}
    )
    assert booked_there.status_code == 404
    assert (await client.get(f"/v2/appointments/{theirs['id']}", headers=other.auth)).json()["status"] == "scheduled"

    async with browser_client(app) as reader:
        await browser_login(reader, support)
        card = await reader.get(f"/leads/{lead['id']}/appointments")
        assert card.status_code == 200 and "Book a viewing" not in card.text and "Cancel" not in card.text, "support only reads"
        read_token = csrf_of(card.text)
        start = (datetime.now(UTC) + timedelta(days=9)).strftime("%Y-%m-%dT%H:%M")
        booking = await reader.post(f"/leads/{lead['id']}/appointments", data={"_csrf_token": read_token, "starts_at": start})
        assert booking.status_code == 403
        cancelling = await reader.post(f"/appointments/{mine['id']}/status", data={"_csrf_token": read_token, "status": "cancelled"})
        assert cancelling.status_code == 403
        assert (await reader.post("/agenda/calendar-feed", data={"_csrf_token": read_token})).status_code == 403
        assert "Get my feed address" not in (await reader.get("/agenda")).text
    assert (await client.get(f"/v2/appointments/{mine['id']}", headers=admin.auth)).json()["status"] == "scheduled"
