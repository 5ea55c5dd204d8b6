"""Customer segments through /v2 and on screen: the documented rules counted by hand, roles and tenants (issue #17)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.forecasting import segments
from tests.factories import Tenants, make_lead
from tests.helpers import browser_login


async def test_segments_follow_their_rules(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    support = await tenants.add_user(admin, "support")
    rich = await make_lead(client, admin, name="Rich", phone="+971501110001", budget_min=4000000, budget_max=6000000, source="referral")
    hot = await make_lead(client, admin, name="Hot", phone="+971501110002", budget_max=900000, source="portal", agent_id=agent.user_id)
    quiet = await make_lead(client, admin, name="Quiet", phone="+971501110003", source="website")
    await db.execute("UPDATE lead SET hotness_score = 85 WHERE id = $1", hot["id"])
    await db.execute("UPDATE lead SET hotness_score = 50, last_interaction = now() - interval '45 days' WHERE id = $1", quiet["id"])
    await db.execute("UPDATE lead SET status = 'WON', hotness_score = 90 WHERE id = $1", rich["id"])
    big = await client.post("/v2/deals", headers=admin.auth, json={"title": "Villa", "value": "6000000", "lead_id": rich["id"]})
    assert (await client.patch(f"/v2/deals/{big.json()['id']}", headers=admin.auth, json={"status": "won"})).status_code == 200
    await client.post(
        "/v2/deals", headers=agent.auth, json={"title": "Flat", "value": "900000", "lead_id": hot["id"], "owner_id": agent.user_id}
    )

    response = await client.get("/v2/customer-segments", headers=admin.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["scope"] == "team" and body["currency"] == "AED"
    by_key = {s["key"]: s for s in body["data"]}
    high = by_key["high_value_buyers"]
    assert high["customer_count"] == 1 and high["total_deal_value"] == 6000000 and high["conversion_rate"] == 1.0
    assert high["recommendations"] and any("3.0 times the average" in line for line in high["insights"]), high["insights"]
    assert by_key["big_deals"]["customer_count"] == 1
    assert by_key["hot_leads"]["customer_count"] == 1 and by_key["hot_leads"]["open_deal_value"] == 900000
    assert by_key["warm_nurture"]["customer_count"] == 1 and by_key["gone_quiet"]["customer_count"] == 1
    assert by_key["referrals"]["customer_count"] == 1 and by_key["portal_leads"]["customer_count"] == 2
    assert by_key["new_this_month"]["customer_count"] == 3
    assert [s["id"] for s in body["data"]] == list(range(1, len(body["data"]) + 1))

    # An agent sees only their own leads and deals.
    own = (await client.get("/v2/customer-segments", headers=agent.auth)).json()
    assert own["scope"] == "own"
    assert {s["key"]: s["customer_count"] for s in own["data"] if s["customer_count"]} == {
        "hot_leads": 1,
        "portal_leads": 1,
        "new_this_month": 1,
    }
    assert sum(s["total_deal_value"] for s in own["data"]) == 0
    refused = await client.get("/v2/customer-segments", headers=support.auth)
    assert refused.status_code == 403
    other = await tenants.create()
    assert all(s["customer_count"] == 0 for s in (await client.get("/v2/customer-segments", headers=other.auth)).json()["data"])

    await browser_login(client, admin)
    page = await client.get("/analytics/segments")
    assert page.status_code == 200 and "High-value buyers" in page.text and 'id="segment-hot_leads"' in page.text
    await browser_login(client, support)
    assert (await client.get("/analytics/segments")).status_code == 403


async def test_a_large_tenants_team_figures_are_counted_by_the_cron_job_and_say_when(
    app: Litestar, client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above LIVE_LIMIT live leads the team's figures come from the snapshot the refresh job keeps (counted on the
    first request when there is none), with the time they were counted; an agent's own are counted on the spot."""
    monkeypatch.setattr(segments, "LIVE_LIMIT", 1)
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    small = await tenants.create()  # one lead: at or under the limit, counted on every request
    await make_lead(client, small, name="Only", phone="+971501110009", source="referral")
    for n in range(2):
        await make_lead(client, admin, name=f"Referral {n}", phone=f"+97150111002{n}", source="referral", agent_id=agent.user_id)

    first = (await client.get("/v2/customer-segments", headers=admin.auth)).json()
    assert first["refreshed_every_minutes"] == segments.REFRESH_MINUTES
    assert {s["key"]: s["customer_count"] for s in first["data"]}["referrals"] == 2
    await make_lead(client, admin, name="Referral 2", phone="+971501110022", source="referral", agent_id=agent.user_id)
    kept = (await client.get("/v2/customer-segments", headers=admin.auth)).json()
    assert kept["as_of"] == first["as_of"] and {s["key"]: s["customer_count"] for s in kept["data"]}["referrals"] == 2
    own = (await client.get("/v2/customer-segments", headers=agent.auth)).json()  # counted now
    assert own["refreshed_every_minutes"] is None and {s["key"]: s["customer_count"] for s in own["data"]}["referrals"] == 3

    job = await app.state.queue.enqueue("refresh_all_segments", key="test-refresh-segments", timeout=60, retries=1)
    await job.refresh(until_complete=30)
    assert job.status == "complete" and job.result == 1  # the large tenant only: the small one has no snapshot
    for _ in range(100):  # each tenant's recount is its own job
        done = await app.state.queue.job(segments.refresh_segments.key_for(tenant_id=admin.tenant_id))
        if done is not None and done.status == "complete":
            break
        await asyncio.sleep(0.1)
    assert done is not None and done.status == "complete" and done.result is True
    fresh = (await client.get("/v2/customer-segments", headers=admin.auth)).json()
    assert {s["key"]: s["customer_count"] for s in fresh["data"]}["referrals"] == 3
    assert datetime.fromisoformat(fresh["as_of"]) > datetime.fromisoformat(first["as_of"])
    assert await db.fetchval("SELECT count(*) FROM segment_snapshot WHERE tenant_id = $1", small.tenant_id) == 0
    theirs = (await client.get("/v2/customer-segments", headers=small.auth)).json()
    assert theirs["refreshed_every_minutes"] is None and {s["key"]: s["customer_count"] for s in theirs["data"]}["referrals"] == 1

    await browser_login(client, admin)
    page = await client.get("/analytics/segments")
    assert page.status_code == 200 and f"recounted every {segments.REFRESH_MINUTES} minutes" in page.text
