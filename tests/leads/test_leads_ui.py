"""The leads screens over HTTP: list fragments, search in the URL, forms with inline errors, roles."""

from __future__ import annotations

import html
from urllib.parse import urlencode

import httpx

from tests.factories import Tenants, make_lead
from tests.helpers import browser_login, csrf_of


async def test_list_search_and_filters_live_in_the_url(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    await make_lead(client, admin, name="Ali Hassan", phone="+971501000001", status="QUALIFIED")
    await make_lead(client, admin, name="Sarah Ahmed", phone="+971501000002")
    await browser_login(client, admin)
    full = await client.get("/leads?q=hass")
    assert full.status_code == 200 and "<html" in full.text
    assert "Ali Hassan" in full.text and "Sarah Ahmed" not in full.text
    assert 'value="hass"' in full.text, "the search box keeps the term"
    fragment = await client.get("/leads?status=QUALIFIED", headers={"HX-Request": "true", "HX-Target": "lead-results"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="lead-results"' in fragment.text
    assert "Ali Hassan" in fragment.text and "Sarah Ahmed" not in fragment.text
    assert fragment.headers["hx-push-url"] == "/leads?status=QUALIFIED"
    sorted_page = await client.get("/leads?sort=name")
    assert sorted_page.text.index("Ali Hassan") < sorted_page.text.index("Sarah Ahmed")
    assert 'href="/leads?sort=-name"' in sorted_page.text, "the active column links to the other direction"


async def test_new_lead_form_shows_errors_inline_and_creates_nothing(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    await browser_login(client, admin)
    token = csrf_of((await client.get("/leads/new")).text)
    bad = await client.post("/leads", data={"_csrf_token": token, "name": "Omar", "phone": "12345", "budget_min": ""})
    assert bad.status_code == 422
    assert "Enter the phone in international format, like +971 50 123 4567" in bad.text
    assert 'value="Omar"' in bad.text and 'value="12345"' in bad.text
    several = await client.post("/leads", data={"_csrf_token": token, "name": "", "phone": "12345", "email": "nope", "budget_min": "lots"})
    assert several.status_code == 422
    for words in ("Required", "Enter the phone in international", "Enter a valid e-mail address", "Enter a number"):
        assert words in several.text, f"every bad field is shown at once: {words}"
    assert (await client.get("/v2/leads", headers=admin.auth)).json()["total"] == 0
    good = await client.post("/leads", data={"_csrf_token": token, "name": "Omar", "phone": "+971 50 555 0101", "budget_max": "2500000"})
    assert good.status_code == 303
    lead_id = int(good.headers["location"].rsplit("/", 1)[1])
    lead = (await client.get(f"/v2/leads/{lead_id}", headers=admin.auth)).json()
    assert lead["phone"] == "+971505550101" and lead["budget_max"] == 2500000 and lead["budget_min"] is None


async def test_detail_edits_are_fragments_and_land_on_the_timeline(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Fatima", phone="+971521234567")
    await browser_login(client, admin)
    page = await client.get(f"/leads/{lead['id']}")
    assert page.status_code == 200 and 'id="timeline"' in page.text
    headers = {"HX-Request": "true", "x-csrf-token": csrf_of(page.text)}
    moved = await client.patch(f"/leads/{lead['id']}", data={"status": "VIEWING_SCHEDULED"}, headers=headers)
    assert moved.status_code == 200 and moved.text.lstrip().startswith('<div id="lead"')
    noted = await client.patch(f"/leads/{lead['id']}", data={"notes": "Booked for Saturday"}, headers=headers)
    assert "Booked for Saturday" in noted.text
    edit = await client.get(f"/leads/{lead['id']}/edit", headers=headers)
    assert edit.text.lstrip().startswith('<form class="card form-grid" id="details"')
    invalid = await client.patch(
        f"/leads/{lead['id']}", data={"_form": "details", "name": "Fatima", "phone": "555", "email": ""}, headers=headers
    )
    assert invalid.status_code == 422 and invalid.headers["hx-retarget"] == "#details"
    assert "Enter the phone in international format" in invalid.text and 'value="555"' in invalid.text and "None" not in invalid.text
    saved = await client.patch(
        f"/leads/{lead['id']}",
        data={"_form": "details", "name": "Fatima A.", "phone": "+971521234567", "email": "", "budget_max": "9000000"},
        headers=headers,
    )
    assert saved.status_code == 200 and "Fatima A." in saved.text
    api = (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).json()
    assert api["status"] == "VIEWING_SCHEDULED" and api["name"] == "Fatima A." and api["budget_max"] == 9000000
    kinds = {e["kind"] for e in (await client.get(f"/v2/leads/{lead['id']}/timeline", headers=admin.auth)).json()["data"]}
    assert {"status_changed", "note_added", "updated"} <= kinds


async def test_support_sees_leads_read_only_and_agents_cannot_touch_others(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    support = await tenants.add_user(admin, "support")
    other = await tenants.add_user(admin, "agent")
    agent = await tenants.add_user(admin, "agent")
    theirs = await make_lead(client, admin, name="Theirs", agent_id=other.user_id)
    await browser_login(client, support)
    page = await client.get(f"/leads/{theirs['id']}")
    assert page.status_code == 200 and "disabled" in page.text and "hx-delete" not in page.text
    token = csrf_of(page.text)
    denied = await client.patch(f"/leads/{theirs['id']}", data={"status": "WON"}, headers={"HX-Request": "true", "x-csrf-token": token})
    assert denied.status_code == 403
    client.cookies.clear()
    await browser_login(client, agent)
    token = csrf_of((await client.get("/leads")).text)
    assert (await client.delete(f"/leads/{theirs['id']}", headers={"HX-Request": "true", "x-csrf-token": token})).status_code == 403
    assert (await client.get(f"/v2/leads/{theirs['id']}", headers=admin.auth)).json()["status"] == "NEW"


async def test_another_tenants_lead_pages_are_404(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a = await tenants.create()
    b = await tenants.create()
    lead = await make_lead(client, b, name="B's")
    await browser_login(client, a)
    assert (await client.get(f"/leads/{lead['id']}")).status_code == 404
    token = csrf_of((await client.get("/leads")).text)
    assert (await client.patch(f"/leads/{lead['id']}", data={"status": "WON"}, headers={"x-csrf-token": token})).status_code == 404
    assert (await client.delete(f"/leads/{lead['id']}", headers={"x-csrf-token": token})).status_code == 404
    assert "B&#39;s" not in (await client.get("/leads")).text


async def test_bulk_assign_and_delete_are_all_or_nothing(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    leads = [await make_lead(client, admin, name=f"Bulk {n}") for n in range(3)]
    await browser_login(client, admin)
    token = csrf_of((await client.get("/leads")).text)
    headers = {"HX-Request": "true", "HX-Target": "lead-results", "x-csrf-token": token}
    form_headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    ids = [("ids", str(lead["id"])) for lead in leads[:2]]
    assigned = await client.post(
        "/leads/bulk", content=urlencode([*ids, ("action", "assign"), ("bulk_agent", str(agent.user_id))]), headers=form_headers
    )
    assert assigned.status_code == 200 and "Assigned 2 leads to " in assigned.text, "says how many, and to whom"
    assert 'id="lead-results"' in assigned.text and "<html" not in assigned.text
    api = {lead["id"]: lead["agent_id"] for lead in (await client.get("/v2/leads", headers=admin.auth)).json()["data"]}
    assert api == {leads[0]["id"]: agent.user_id, leads[1]["id"]: agent.user_id, leads[2]["id"]: None}
    timeline = (await client.get(f"/v2/leads/{leads[0]['id']}/timeline", headers=admin.auth)).json()["data"]
    assert timeline[0]["kind"] == "assigned"
    # One lead of another tenant in the selection: nothing happens at all.
    other = await tenants.create()
    foreign = await make_lead(client, other, name="Foreign")
    mixed = await client.post(
        "/leads/bulk", content=urlencode([*ids, ("ids", str(foreign["id"])), ("action", "delete")]), headers=form_headers
    )
    assert mixed.status_code == 404
    assert (await client.get("/v2/leads", headers=admin.auth)).json()["total"] == 3
    deleted = await client.post("/leads/bulk", content=urlencode([*ids, ("action", "delete")]), headers=form_headers)
    assert "Deleted 2 leads." in deleted.text
    assert (await client.get("/v2/leads", headers=admin.auth)).json()["total"] == 1
    assert (await client.get(f"/v2/leads/{foreign['id']}", headers=other.auth)).status_code == 200


async def test_agents_bulk_assign_only_what_they_may_edit(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    other = await tenants.add_user(admin, "agent")
    free = await make_lead(client, admin, name="Free")
    taken = await make_lead(client, admin, name="Taken", agent_id=other.user_id)
    await browser_login(client, agent)
    token = csrf_of((await client.get("/leads")).text)
    headers = {"HX-Request": "true", "HX-Target": "lead-results", "x-csrf-token": token}
    form_headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    refused = await client.post(
        "/leads/bulk",
        content=urlencode([("ids", str(free["id"])), ("ids", str(taken["id"])), ("action", "assign"), ("bulk_agent", str(agent.user_id))]),
        headers=form_headers,
    )
    assert refused.status_code == 403
    assert (await client.get(f"/v2/leads/{free['id']}", headers=admin.auth)).json()["agent_id"] is None
    ok = await client.post(
        "/leads/bulk",
        content=urlencode([("ids", str(free["id"])), ("action", "assign"), ("bulk_agent", str(agent.user_id))]),
        headers=form_headers,
    )
    assert ok.status_code == 200
    assert (
        await client.post("/leads/bulk", content=urlencode([("ids", str(free["id"])), ("action", "delete")]), headers=form_headers)
    ).status_code == 403


async def test_export_from_the_screen_follows_the_view_or_the_selection(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    first = await make_lead(client, admin, name="Ali", status="QUALIFIED")
    await make_lead(client, admin, name="Sarah")
    await browser_login(client, admin)
    view = await client.get("/leads/export?format=csv&status=QUALIFIED")
    assert view.status_code == 200 and view.text.count("\n") == 2 and "Ali" in view.text
    picked = await client.get(f"/leads/export?format=csv&ids={first['id']}")
    assert "Ali" in picked.text and "Sarah" not in picked.text
    xlsx = await client.get("/leads/export?format=xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    audit = (await client.get("/v2/audit-log?action=leads.exported", headers=admin.auth)).json()
    assert audit["total"] == 3


async def test_ui_bulk_without_selection_and_notes_that_fail(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Noted")
    await browser_login(client, admin)
    token = csrf_of((await client.get("/leads")).text)
    headers = {
        "HX-Request": "true",
        "HX-Target": "lead-results",
        "x-csrf-token": token,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    empty = await client.post("/leads/bulk", content=urlencode({"action": "delete"}), headers=headers)
    assert empty.status_code == 200 and "Select at least one lead first." in empty.text
    long_note = "x" * 10_001
    failed = await client.patch(f"/leads/{lead['id']}", data={"notes": long_note}, headers={"HX-Request": "true", "x-csrf-token": token})
    assert failed.status_code == 422 and 'class="alert"' in failed.text and long_note in failed.text


async def test_lead_forms_work_without_javascript(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="No JS")
    await browser_login(client, admin)
    token = csrf_of((await client.get(f"/leads/{lead['id']}")).text)
    saved = await client.post(f"/leads/{lead['id']}", data={"_csrf_token": token, "notes": "Called from a plain form"})
    assert saved.status_code == 303 and saved.headers["location"] == f"/leads/{lead['id']}"
    bad = await client.post(f"/leads/{lead['id']}", data={"_csrf_token": token, "_form": "details", "name": "No JS", "phone": "12"})
    assert bad.status_code == 422 and "international format" in bad.text


async def test_an_admin_restores_deleted_leads_from_the_screen(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    kept = await make_lead(client, admin, name="Kept Karim")
    gone = await make_lead(client, admin, name="Gone Gina", phone="+971501230000")
    await client.delete(f"/v2/leads/{gone['id']}", headers=admin.auth)
    await browser_login(client, admin)
    listing = await client.get("/leads")
    assert "Deleted leads" in listing.text and "Gone Gina" not in listing.text
    deleted = await client.get("/leads?deleted=1")
    assert "Gone Gina" in deleted.text and "Kept Karim" not in deleted.text and "Restore</button>" in deleted.text
    token = csrf_of(deleted.text)
    restored = await client.post(
        f"/leads/{gone['id']}/restore",
        data={"_csrf_token": token, "deleted": "1"},
        headers={"HX-Request": "true", "HX-Target": "lead-results"},
    )
    assert restored.status_code == 200 and "Restored Gone Gina" in restored.text
    live = {x["id"] for x in (await client.get("/v2/leads", headers=admin.auth)).json()["data"]}
    assert live == {kept["id"], gone["id"]}
    agent = await tenants.add_user(admin, "agent")
    client.cookies.clear()
    await browser_login(client, agent)
    assert "Deleted leads" not in (await client.get("/leads")).text
    assert (await client.get("/leads?deleted=1")).status_code == 403
    token = csrf_of((await client.get("/leads")).text)
    assert (await client.post(f"/leads/{gone['id']}/restore", data={"_csrf_token": token})).status_code == 403


async def test_a_stale_edit_form_does_not_overwrite_someone_elses_change(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Versioned Vera")
    await browser_login(client, admin)
    form = await client.get(f"/leads/{lead['id']}/edit", headers={"HX-Request": "true"})
    version = html.unescape(form.text.split('name="_version" value="', 1)[1].split('"', 1)[0])
    token = csrf_of((await client.get(f"/leads/{lead['id']}")).text)
    await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"name": "Vera (changed by a colleague)"})
    fields = {"_csrf_token": token, "_form": "details", "_version": version, "name": "Vera Mine", "preferred_location": "JBR"}
    stale = await client.patch(f"/leads/{lead['id']}", data=fields, headers={"HX-Request": "true"})
    assert stale.status_code == 422 and "changed this record since you opened it" in stale.text
    assert 'value="Vera Mine"' in stale.text, "what was typed is kept"
    current = (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).json()
    assert current["name"] == "Vera (changed by a colleague)", "nothing was overwritten"
    fresh = html.unescape(stale.text.split('name="_version" value="', 1)[1].split('"', 1)[0])
    saved = await client.patch(f"/leads/{lead['id']}", data={**fields, "_version": fresh}, headers={"HX-Request": "true"})
    assert saved.status_code == 200
    assert (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).json()["name"] == "Vera Mine"
