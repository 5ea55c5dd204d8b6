"""Lead rules that guard data: roles on rescoring, duplicates under concurrency, times, tenant deletion, If-Match order."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
from litestar import Litestar

from tests.factories import Tenants, make_lead
from tests.helpers import browser_login, csrf_of, eventually


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
