"""The --demo tenant loaded in-process (app/demo/loader.py): its properties, their timelines, portfolios and the
leads' best matches; loading it again changes nothing."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import httpx

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD, DEMO_PROPERTIES, load_demo_tenant
from app.properties.schemas import LISTING_STATUSES, STAGES


async def counts(db: asyncpg.Connection, tenant_id: int) -> dict[str, Any]:
    row = await db.fetchrow(
        """SELECT (SELECT count(*) FROM property WHERE tenant_id = $1) AS properties,
                  (SELECT count(*) FROM activity WHERE tenant_id = $1 AND subject_type = 'property') AS timeline,
                  (SELECT count(*) FROM portfolio WHERE tenant_id = $1) AS portfolios,
                  (SELECT count(*) FROM portfolio_reconciliation WHERE tenant_id = $1) AS reconciliations,
                  (SELECT count(*) FROM lead WHERE tenant_id = $1) AS leads,
                  (SELECT count(*) FROM deal WHERE tenant_id = $1) AS deals,
                  (SELECT count(*) FROM communication WHERE tenant_id = $1) AS communications""",
        tenant_id,
    )
    assert row is not None
    return dict(row)


async def test_the_demo_has_properties_in_every_stage_portfolios_and_matches_for_its_leads(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    started = time.perf_counter()
    login = await load_demo_tenant()
    print(f"demo loaded in {time.perf_counter() - started:.1f}s")
    assert login.created
    token = (await client.post("/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})).json()["token"]
    api = {"Authorization": f"Bearer {token}"}

    stats = (await client.get("/v2/portfolio/stats", headers=api)).json()
    assert stats["total_properties"] == DEMO_PROPERTIES
    assert all(stats["by_stage"][stage] > 0 for stage in STAGES), stats["by_stage"]
    assert 0 < stats["conversion_rate"] < 0.3 and stats["avg_bird_dog_score"] is not None

    facts = await db.fetchrow(
        """SELECT count(DISTINCT neighborhood) AS hoods, count(DISTINCT property_type) AS types,
                  array_agg(DISTINCT listing_status) AS statuses, count(*) FILTER (WHERE assigned_user_id IS NOT NULL) AS assigned,
                  count(*) FILTER (WHERE cardinality(tags) > 0) AS tagged, min(price) AS low, max(price) AS high,
                  max(abs(estimated_value / price - 1)) FILTER (WHERE listing_status NOT IN ('for_rent', 'rented')) AS spread,
                  min(listed_on) AS first_listed, max(listed_on) AS last_listed, count(DISTINCT owner_phone) AS phones,
                  count(*) FILTER (WHERE owner_name = '') AS nameless
             FROM property WHERE tenant_id = $1""",
        login.tenant_id,
    )
    assert facts is not None
    assert facts["hoods"] == 9 and facts["types"] >= 7 and set(facts["statuses"]) == set(LISTING_STATUSES)
    assert DEMO_PROPERTIES / 2 < facts["assigned"] < DEMO_PROPERTIES and facts["tagged"] > DEMO_PROPERTIES / 2
    assert facts["spread"] <= 0.1, "estimates are near the asking price"
    assert (facts["last_listed"] - facts["first_listed"]).days > 120, "listed over the last months"
    assert facts["phones"] == DEMO_PROPERTIES and facts["nameless"] == 0

    # The list's filters find them (stage + score, tags, search), as the screens will ask.
    hot = await client.get("/v2/properties", headers=api, params={"stage": "qualified", "bird_dog_score__gte": 0.7})
    assert hot.status_code == 200 and hot.json() and all(p["bird_dog_score"] >= 0.7 for p in hot.json())
    tagged = await client.get("/v2/properties", headers=api, params={"tags": "motivated-seller"})
    assert tagged.json() and all("motivated-seller" in p["tags"] for p in tagged.json())
    assert (await client.get("/v2/properties", headers=api, params={"search": "Marina Gate"})).json()

    # A closed property's timeline: added, then every stage it went through, oldest first.
    won = (await client.get("/v2/properties", headers=api, params={"stage": "closed_won", "limit": 1})).json()[0]
    timeline = (await client.get(f"/v2/properties/{won['id']}/timeline", headers=api)).json()
    assert [e["event_type"] for e in timeline] == ["property_created"] + ["property_stage_changed"] * 5
    assert timeline[0]["event_description"] == f"Added {won['address']}"
    assert timeline[-1]["event_description"] == "Stage Under contract → Closed won"
    assert [e["created_at"] for e in timeline] == sorted(e["created_at"] for e in timeline)

    # Two portfolios with recorded values: one passes its reconciliation, one fails.
    portfolios = (await client.get("/v2/portfolio/portfolios", headers=api)).json()
    assert {p["name"]: p["last_reconciliation"]["validation_status"] for p in portfolios} == {
        "Marina & Downtown apartments": "pass",
        "Palm & Hills villas": "fail",
    }
    assert all(p["properties_count"] >= 8 for p in portfolios)
    again = await client.post("/v2/portfolio/reconcile", headers=api, json={"portfolio_id": portfolios[1]["id"]})
    assert again.json()["validation_status"] == "fail" and again.json()["discrepancy_percentage"] > 2

    # The leads' budgets, types and locations meet the properties: most leads have matches, and a lead with a
    # property of its type in its own neighbourhood within its budget gets it first, as a perfect match.
    # (Buyers: a rental's price is a yearly rent, offered only to those who rent, and the demo's renters have budgets
    # no rent comes near.)
    sample = await db.fetch("SELECT id FROM lead WHERE tenant_id = $1 AND id % 50 = 0 AND transaction_type = 'BUY'", login.tenant_id)
    matched = 0
    for lead in sample:
        result = (await client.post("/v2/properties/match", headers=api, json={"lead_id": lead["id"], "limit": 5})).json()
        matched += bool(result["matches"])
    assert matched >= len(sample) / 2, (matched, len(sample))
    served = await db.fetch(
        """SELECT l.id, l.preferred_location FROM lead l WHERE l.tenant_id = $1 AND l.transaction_type = 'BUY' AND EXISTS (
             SELECT 1 FROM property p WHERE p.tenant_id = $1 AND p.property_type = l.property_type AND p.neighborhood = l.preferred_location
                AND p.price BETWEEN l.budget_min AND l.budget_max AND p.listing_status IN ('for_sale', 'off_market')
                AND p.current_stage NOT IN ('closed_won', 'closed_lost'))
            ORDER BY l.hotness_score DESC, l.id LIMIT 10""",
        login.tenant_id,
    )
    assert len(served) == 10
    for lead in served:
        best = (await client.post("/v2/properties/match", headers=api, json={"lead_id": lead["id"], "limit": 1})).json()["matches"][0]
        assert best["match_score"] == 1 and best["neighborhood"] == lead["preferred_location"], best
        assert best["explanation"].startswith("Perfect match: AED ") and f"in {lead['preferred_location']}" in best["explanation"]

    # Messages: templates with opens and replies, memos in the local outbox, an active nurture sequence.
    templates = (await client.get("/v2/communications/templates", headers=api)).json()
    outreach = next(t for t in templates if t["name"] == "Initial Outreach")["performance"]
    assert outreach["total_sent"] > 10 and 0 < outreach["reply_rate"] < outreach["open_rate"] < 1, outreach
    outbox = (await client.get("/v2/communications", headers=api, params={"transport": "outbox", "status": "replied"})).json()
    assert outbox["total"] > 5 and all(c["reply_text"] for c in outbox["data"])
    replied = (await client.get("/v2/properties", headers=api, params={"has_reply": "true", "has_memo": "true"})).json()
    assert replied
    active = await db.fetchval("SELECT count(*) FROM nurture_sequence WHERE tenant_id = $1 AND status = 'active'", login.tenant_id)
    assert active == 1

    # Analytics: a funnel that narrows from stage to stage, qualification taking hours to days, commission revenue
    # attributed to the leads' won deals, and a leaderboard whose agents score differently.
    funnel = (await client.get("/v2/analytics/funnel", headers=api, params={"period": "365d"})).json()
    counts_by_stage = [f["count"] for f in funnel["funnel"]]
    assert counts_by_stage == sorted(counts_by_stage, reverse=True) and counts_by_stage[-1] > 0 and counts_by_stage[0] > counts_by_stage[1]
    assert 3600 < funnel["average_qualification_time_seconds"] < 5 * 86400
    dashboard = (await client.get("/v2/analytics/dashboard", headers=api, params={"period": "month"})).json()
    assert dashboard["revenue"]["attributed"] > 0 and dashboard["revenue"]["pipeline"] > 0
    board = (await client.get("/v2/analytics/agents", headers=api, params={"period": "30d"})).json()["data"]
    assert len(board) >= 3 and len({a["performance_score"] for a in board}) > 1 and any(a["closed_deals"] for a in board)
    # Three years of won deals: the forecast is seasonal (Holt-Winters), back-tested, with the open pipeline beside it.
    forecast = (await client.get("/v2/forecasting-models", headers=api)).json()["data"]
    assert forecast["method"] == "holt_winters" and len(forecast["history"]) == 36, forecast["method"]
    assert forecast["accuracy_metrics"]["points"] > 20 and forecast["accuracy_metrics"]["mape"] < forecast["baseline_metrics"]["mape"]
    assert forecast["weighted_pipeline_total"] > 0 and len(forecast["insights"]) >= 3

    # Loading again changes nothing.
    before = await counts(db, login.tenant_id)
    assert (await load_demo_tenant()).created is False
    assert await counts(db, login.tenant_id) == before
