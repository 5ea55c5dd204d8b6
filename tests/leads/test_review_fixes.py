"""Regressions found in review of the leads slice: each test names what used to go wrong."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from urllib.parse import urlencode

import asyncpg
import httpx
from litestar import Litestar
from openpyxl import load_workbook

from tests.conftest import eventually
from tests.factories import Tenants
from tests.leads.test_leads_api import make_lead
from tests.ui.test_session_and_csrf import browser_login, csrf_of


async def test_support_and_finance_cannot_rescore_in_the_ui_or_the_api(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    support = await tenants.add_user(admin, "support")
    lead = await make_lead(client, admin, name="Scored")
    await db.execute("UPDATE lead SET hotness_score = 99 WHERE id = $1", lead["id"])
    assert (await client.post(f"/v2/leads/{lead['id']}/score", headers=support.auth)).status_code == 403
    await browser_login(client, support)
    token = csrf_of((await client.get(f"/leads/{lead['id']}")).text)
    assert (await client.post(f"/leads/{lead['id']}/score", headers={"HX-Request": "true", "x-csrf-token": token})).status_code == 403
    assert await db.fetchval("SELECT hotness_score FROM lead WHERE id = $1", lead["id"]) == 99


async def test_formula_injection_is_neutralised_in_csv_only(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    await make_lead(client, admin, name="+1+cmd|' /C calc'!A0", phone="+971501234567", source="-2+3+cmd")
    await make_lead(client, admin, name="=SUM(1)", phone="+971501234568")
    rows = list(
        csv.DictReader(io.StringIO((await client.get("/v2/export/leads?format=csv&columns=name,phone,source", headers=admin.auth)).text))
    )
    by_phone = {r["phone"]: r for r in rows}
    assert by_phone["+971501234567"]["name"].startswith("'+1+cmd"), "a + followed by a digit is still a formula"
    assert by_phone["+971501234567"]["source"].startswith("'-2+3")
    assert by_phone["+971501234568"]["name"] == "'=SUM(1)"
    assert set(by_phone) == {"+971501234567", "+971501234568"}, "phone numbers stay as they are"
    data = json.loads((await client.get("/v2/export/leads?format=json", headers=admin.auth)).content)["data"]
    assert {d["name"] for d in data} == {"+1+cmd|' /C calc'!A0", "=SUM(1)"}, "JSON keeps the real values"
    sheet = load_workbook(io.BytesIO((await client.get("/v2/export/leads?format=xlsx", headers=admin.auth)).content)).active
    names = {row[1].value for row in sheet.iter_rows(min_row=2)}
    assert names == {"+1+cmd|' /C calc'!A0", "=SUM(1)"} and all(row[1].data_type == "s" for row in sheet.iter_rows(min_row=2))


async def test_concurrent_duplicates_get_409_not_500(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    creates = await asyncio.gather(
        *(client.post("/v2/leads", headers=admin.auth, json={"name": f"N{n}", "phone": "+971509990000"}) for n in range(8))
    )
    assert sorted(r.status_code for r in creates) == [201] + [409] * 7
    targets = [await make_lead(client, admin, name=f"T{n}") for n in range(4)]
    updates = await asyncio.gather(
        *(client.patch(f"/v2/leads/{t['id']}", headers=admin.auth, json={"phone": "+971509990001"}) for t in targets)
    )
    assert sorted(r.status_code for r in updates) == [200, 409, 409, 409]


async def test_tenants_with_leads_can_be_deleted_and_truncate_clears_counters(
    tenants: Tenants, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    gone = await tenants.create()
    kept = await tenants.create()
    await make_lead(client, gone, name="Bye")
    await make_lead(client, kept, name="Stay")
    await db.execute("DELETE FROM tenant WHERE id = $1", gone.tenant_id)
    assert await db.fetchval("SELECT count(*) FROM lead_counter WHERE tenant_id = $1", gone.tenant_id) == 0
    assert await db.fetchval("SELECT live FROM lead_counter WHERE tenant_id = $1", kept.tenant_id) == 1
    await db.execute("TRUNCATE lead CASCADE")
    assert await db.fetchval("SELECT count(*) FROM lead_counter") == 0


async def test_times_must_be_aware_and_not_in_the_future(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    naive = await client.post("/v2/leads", headers=admin.auth, json={"name": "Naive", "last_interaction": "2025-01-01T10:00:00"})
    assert naive.status_code == 422 and naive.json()["error"]["details"]["field"] == "last_interaction"
    future = await client.post("/v2/leads", headers=admin.auth, json={"name": "Future", "last_interaction": "2099-01-01T10:00:00Z"})
    assert future.status_code == 422


async def test_nightly_rescore_updates_time_based_scores(
    app: Litestar, client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Was hot", budget_max=9000000, phone="+971502220000")
    await db.execute("UPDATE lead SET temperature = 'hot', hotness_score = 90 WHERE id = $1", lead["id"])
    job = await app.state.queue.enqueue("rescore_all_tenants", key="test-nightly", timeout=60, retries=1)
    await job.refresh(until_complete=20)
    assert job.status == "complete" and job.result >= 1

    async def rescored() -> bool:
        return await db.fetchval("SELECT temperature FROM lead WHERE id = $1", lead["id"]) != "hot"

    await eventually(rescored)


async def test_unchanged_json_fields_record_nothing(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Custom", custom_fields={"campaign_id": "camp_summer2025"})
    await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"custom_fields": {"campaign_id": "camp_summer2025"}})
    kinds = [e["kind"] for e in (await client.get(f"/v2/leads/{lead['id']}/timeline", headers=admin.auth)).json()["data"]]
    assert "updated" not in kinds


async def test_permission_is_checked_before_if_match(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    other = await tenants.add_user(admin, "agent")
    lead = await make_lead(client, admin, name="Theirs", agent_id=other.user_id)
    stale = await client.patch(f"/v2/leads/{lead['id']}", headers={**agent.auth, "If-Match": '"stale"'}, json={"name": "x"})
    assert stale.status_code == 403


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
    assert bad.status_code == 422 and "International format" in bad.text
