"""Properties through /v2: the Real Estate OS guide's calls, filters, timeline, events, portfolio numbers and
reconciliation, buyer matching, comparables and seller analysis, tenancy and roles (issue #12)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from tests.factories import Account, Tenants, make_lead


async def new_property(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v2/properties", headers=who.auth, json={"address": "1 Test St", **fields})
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v2/properties/{response.json()['id']}"
    return dict(response.json())


async def test_the_guides_quick_start_and_workflows_run(client: httpx.AsyncClient, tenants: Tenants) -> None:
    # Quick Start 1: register; the answer names the team as the guide shows it.
    registered = await client.post(
        "/v2/auth/register",
        json={"full_name": "John Doe", "email": "john@example.com", "password": "SecurePassword123!", "team_name": "Acme Real Estate"},
    )
    assert registered.status_code == 201, registered.text
    body = registered.json()
    assert body["token_type"] == "bearer" and body["team"]["name"] == "Acme Real Estate" and body["user"]["role"] == "admin"
    team_id = body["user"]["team_id"]
    assert team_id == body["team"]["id"]
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    admin = await tenants.login("john@example.com", "SecurePassword123!")
    # Quick Start 2, as written (team_id is the caller's team).
    created = await client.post(
        "/v2/properties",
        headers=headers,
        json={
            "address": "123 Main St",
            "city": "San Francisco",
            "state": "CA",
            "zip_code": "94102",
            "owner_name": "Jane Smith",
            "owner_phone": "+1-555-0100",
            "owner_email": "jane@example.com",
            "team_id": team_id,
            "assigned_user_id": admin.user_id,
            "bird_dog_score": 0.85,
            "estimated_value": 850000,
            "tags": ["high-priority", "owner-occupied"],
        },
    )
    assert created.status_code == 201, created.text
    prop = created.json()
    assert (prop["current_stage"], prop["address"], prop["bird_dog_score"], prop["estimated_value"]) == ("new", "123 Main St", 0.85, 850000)
    assert prop["tags"] == ["high-priority", "owner-occupied"] and prop["team_id"] == team_id and prop["has_memo"] is False
    # Workflow 2: read the stage, move it on.
    got = (await client.get(f"/v2/properties/{prop['id']}", headers=headers)).json()
    assert got["current_stage"] == "new" and "market_data" in got
    moved = await client.patch(f"/v2/properties/{prop['id']}", headers=headers, json={"current_stage": "qualified"})
    assert moved.status_code == 200 and moved.json()["current_stage"] == "qualified"
    # Workflow 3: filters combine; the answer is a JSON array as the guide's loop reads it.
    await new_property(client, admin, address="2 Low St", bird_dog_score=0.4, current_stage="outreach")
    hit = await new_property(client, admin, address="3 High St", bird_dog_score=0.9, current_stage="outreach")
    params = {"team_id": team_id, "stage": "outreach", "bird_dog_score__gte": 0.7, "has_memo": False, "has_reply": False, "limit": 50}
    found = await client.get("/v2/properties", headers=headers, params=params)
    assert found.status_code == 200, found.text
    assert [p["id"] for p in found.json()] == [hit["id"]] and found.headers["x-total-count"] == "1"
    # The timeline, in the guide's shape, oldest first.
    timeline = (await client.get(f"/v2/properties/{prop['id']}/timeline", headers=headers)).json()
    assert [e["event_type"] for e in timeline] == ["property_created", "property_stage_changed"]
    assert timeline[0]["event_title"] == "Property Added to Pipeline" and timeline[0]["event_description"] == "Added 123 Main St"
    assert timeline[1]["event_description"] == "Stage New → Qualified" and timeline[1]["property_id"] == prop["id"]
    # Workflow 4: reconcile a portfolio.
    portfolio = await client.post("/v2/portfolio/portfolios", headers=headers, json={"name": "West", "property_ids": [prop["id"]]})
    assert portfolio.status_code == 201, portfolio.text
    result = (await client.post("/v2/portfolio/reconcile", headers=headers, json={"portfolio_id": portfolio.json()["id"]})).json()
    assert result["validation_status"] == "pass" and result["discrepancy_percentage"] == 0 and result["threshold"] == 0.5
    # Another team's id is not the caller's.
    assert (await client.get("/v2/properties", headers=headers, params={"team_id": team_id + 999})).status_code == 404
    other = await client.post("/v2/properties", headers=headers, json={"address": "x", "team_id": team_id + 999})
    assert other.status_code == 404


async def test_filters_search_tags_and_paging(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    a = await new_property(
        client, admin, address="10 Palm Jumeirah", city="Dubai", owner_name="Omar", tags=["sea", "villa"], bird_dog_score=0.2
    )
    b = await new_property(
        client, admin, address="20 Marina Walk", city="Dubai", owner_name="Lina", tags=["sea"], assigned_user_id=agent.user_id
    )
    c = await new_property(client, admin, address="5 Corniche", city="Abu Dhabi", owner_name="Palmer", tags=["villa"], bird_dog_score=0.8)

    async def ids(**params: Any) -> list[int]:
        response = await client.get("/v2/properties", headers=admin.auth, params=params)
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()]

    assert await ids(search="palm") == [c["id"], a["id"]], "address and owner both searched, newest first"
    assert await ids(search="dubai", tags="sea") == [b["id"], a["id"]]
    assert await ids(tags=["sea", "villa"]) == [a["id"]], "every tag named"
    assert await ids(tags="sea,villa") == [a["id"]]
    assert await ids(assigned_user_id=agent.user_id) == [b["id"]]
    assert await ids(bird_dog_score__lte=0.5) == [a["id"]]
    assert await ids(sort="-bird_dog_score") == [c["id"], a["id"], b["id"]]
    assert await ids(skip=1, limit=1) == [b["id"]]
    page = await client.get("/v2/properties", headers=admin.auth, params={"limit": 2})
    assert page.headers["x-total-count"] == "3" and 'rel="next"' in page.headers["link"]
    bad = await client.get("/v2/properties", headers=admin.auth, params={"stage": "nowhere"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "stage"
    assert (await client.get("/v2/properties", headers=admin.auth, params={"limit": 1001})).status_code == 422
    assert (await client.get("/v2/properties", headers=admin.auth, params={"limit": 1000})).status_code == 200
    refused = await client.post("/v2/properties", headers=admin.auth, json={"address": "x", "bird_dog_score": 1.5})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_stage_and_assignment_changes_emit_property_updated(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    prop = await new_property(client, admin)
    await client.patch(f"/v2/properties/{prop['id']}", headers=admin.auth, json={"notes": "Call back Monday"})
    await client.patch(
        f"/v2/properties/{prop['id']}", headers=admin.auth, json={"current_stage": "outreach", "assigned_user_id": agent.user_id}
    )
    rows = await db.fetch(
        "SELECT event_type, data FROM outbox_event WHERE tenant_id = $1 AND event_type LIKE 'property%' ORDER BY id", admin.tenant_id
    )
    assert [r["event_type"] for r in rows] == ["property.created", "property.updated", "property.updated", "property_updated"]
    live = json.loads(rows[-1]["data"])
    assert live == {
        "property_id": prop["id"],
        "team_id": admin.tenant_id,
        "current_stage": "outreach",
        "assigned_user_id": agent.user_id,
        "updated_by": admin.user_id,
    }
    # A change that fails changes nothing and emits nothing.
    bad = await client.patch(f"/v2/properties/{prop['id']}", headers=admin.auth, json={"current_stage": "sold", "notes": "x"})
    assert bad.status_code == 422
    assert len(await db.fetch("SELECT 1 FROM outbox_event WHERE tenant_id = $1 AND event_type LIKE 'property%'", admin.tenant_id)) == 4
    # If-Match: a stale version is refused.
    current = await client.get(f"/v2/properties/{prop['id']}", headers=admin.auth)
    etag = current.headers["etag"]
    assert (
        await client.patch(f"/v2/properties/{prop['id']}", headers={**admin.auth, "If-Match": etag}, json={"city": "A"})
    ).status_code == 200
    assert (
        await client.patch(f"/v2/properties/{prop['id']}", headers={**admin.auth, "If-Match": etag}, json={"city": "B"})
    ).status_code == 412


async def test_portfolio_stats_count_what_they_say(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    for stage, score, value in (
        ("new", 0.5, 100000),
        ("outreach", 0.7, 200000),
        ("closed_won", 0.9, 300000),
        ("closed_lost", None, 400000),
    ):
        await new_property(client, admin, current_stage=stage, bird_dog_score=score, estimated_value=value)
    stats = await client.get("/v2/portfolio/stats", headers=admin.auth, params={"team_id": admin.tenant_id})
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["total_properties"] == 4 and body["by_stage"]["outreach"] == 1 and body["by_stage"]["negotiation"] == 0
    assert body["avg_bird_dog_score"] == 0.7 and body["total_estimated_value"] == 1000000
    assert body["conversion_rate"] == 0.25
    assert body["this_month"] == {"new_properties": 4, "closed_won": 1, "closed_lost": 1}
    empty = (await client.get("/v2/portfolio/stats", headers=admin.auth, params={"date_to": "2001-01-01"})).json()
    assert empty["total_properties"] == 0 and empty["conversion_rate"] == 0


async def test_reconciliation_of_a_known_portfolio(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    finance = await tenants.add_user(admin, "finance")
    props = [
        await new_property(client, admin, address=f"{i} Lane", estimated_value=value) for i, value in enumerate((50_000_000, 75_000_000))
    ]
    created = await client.post(
        "/v2/portfolio/portfolios",
        headers=finance.auth,
        json={"name": "Core", "property_ids": [p["id"] for p in props], "threshold": 0.5},
    )
    assert created.status_code == 201, created.text
    portfolio = created.json()
    assert portfolio["total_value_expected"] == 125_000_000 and portfolio["properties_count"] == 2
    # The market moves one property by 287,500: 0.23 % of 125M, inside ±0.5 %.
    await client.patch(f"/v2/properties/{props[1]['id']}", headers=admin.auth, json={"estimated_value": 75_287_500})
    result = (await client.post("/v2/portfolio/reconcile", headers=finance.auth, json={"portfolio_id": portfolio["id"]})).json()
    assert result["validation_status"] == "pass" and result["discrepancy_percentage"] == 0.23
    assert (result["total_value_expected"], result["total_value_actual"], result["discrepancy_amount"]) == (
        125_000_000,
        125_287_500,
        287_500,
    )
    assert result["properties_checked"] == 2 and result["largest_discrepancies"][0]["property_id"] == props[1]["id"]
    # A drop of 1M fails it.
    await client.patch(f"/v2/properties/{props[0]['id']}", headers=admin.auth, json={"estimated_value": 49_000_000})
    failed = (await client.post("/v2/portfolio/reconcile", headers=finance.auth, json={"portfolio_id": portfolio["id"]})).json()
    assert failed["validation_status"] == "fail" and failed["discrepancy_amount"] == -712_500 and failed["discrepancy_percentage"] == 0.57
    shown = (await client.get(f"/v2/portfolio/portfolios/{portfolio['id']}", headers=finance.auth)).json()
    assert shown["last_reconciliation"]["validation_status"] == "fail"
    missing = await client.post("/v2/portfolio/portfolios", headers=finance.auth, json={"name": "Bad", "property_ids": [10**12]})
    assert missing.status_code == 422 and missing.json()["error"]["details"]["field"] == "property_ids"


async def test_matching_ranks_a_known_set_and_explains_it(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    common = {"listing_status": "for_sale", "bathrooms": 2, "square_feet": 1800}
    perfect = await new_property(client, admin, address="1 Victoria", neighborhood="Victoria", price=725000, bedrooms=3, **common)
    other_hood = await new_property(client, admin, address="2 Elsewhere", neighborhood="Downtown", price=700000, bedrooms=4, **common)
    one_bed_off = await new_property(client, admin, address="3 Haven", neighborhood="Haven", price=650000, bedrooms=2, **common)
    pricey = await new_property(client, admin, address="4 Etiwanda", neighborhood="Etiwanda", price=850000, bedrooms=3, **common)
    await new_property(client, admin, address="5 Mansion", neighborhood="Victoria", price=2_000_000, bedrooms=3, **common)
    await new_property(
        client, admin, address="6 Sold", neighborhood="Victoria", price=720000, bedrooms=3, **{**common, "listing_status": "sold"}
    )
    body = {
        "buyer_id": "buyer-001",
        "budget_min": 600000,
        "budget_max": 800000,
        "bedrooms": [3, 4],
        "neighborhoods": ["Victoria", "Haven", "Etiwanda"],
        "sort_by": "relevance",
    }
    response = await client.post("/v2/properties/match", headers=admin.auth, json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    ranked = [m["property_id"] for m in result["matches"]]
    assert ranked == [perfect["id"], pricey["id"], one_bed_off["id"], other_hood["id"]], result
    assert result["total_matches"] == 4 and result["buyer_id"] == "buyer-001" and result["next_actions"]
    top = result["matches"][0]
    assert top["rank"] == 1 and top["match_score"] == 1.0 and top["explanation"].startswith("Perfect match")
    assert "3 bedrooms" in top["explanation"] and "Victoria" in top["explanation"]
    # 850k is 50k over an 800k budget: price fit 1 - 50/160 = 0.6875 → 0.45 x 0.6875 + 0.30 + 0.25 = 0.859.
    assert result["matches"][1]["match_score"] == 0.859 and "50,000 over the budget" in result["matches"][1]["explanation"]
    assert "one off" in result["matches"][2]["explanation"] and result["matches"][2]["match_score"] == 0.85
    assert "not a wanted neighbourhood" in result["matches"][3]["explanation"]
    event = await db.fetchrow("SELECT data FROM outbox_event WHERE tenant_id = $1 AND event_type = 'buyer.matched'", admin.tenant_id)
    assert json.loads(event["data"])["property_ids"] == ranked
    # From a lead's own wishes.
    lead = await make_lead(
        client, admin, budget_min=700000, budget_max=760000, bedrooms_min=3, bedrooms_max=3, preferred_locations=["Victoria"]
    )
    by_lead = (await client.post("/v2/properties/match", headers=admin.auth, json={"lead_id": lead["id"]})).json()
    assert by_lead["matches"][0]["property_id"] == perfect["id"] and by_lead["lead_id"] == lead["id"]
    bad = await client.post("/v2/properties/match", headers=admin.auth, json={"budget_min": 9, "budget_max": 1})
    assert bad.status_code == 422


async def test_market_data_and_seller_analysis_from_comparables(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    for i, (price, size) in enumerate(((800000, 2400), (850000, 2500), (900000, 2500), (880000, 2600))):
        await new_property(
            client, admin, address=f"{i} Oak", neighborhood="Oakwood", price=price, square_feet=size, bedrooms=4, days_on_market=20
        )
    await new_property(client, admin, address="Far", neighborhood="Elsewhere", price=100000, square_feet=2500, bedrooms=4)
    subject = await new_property(
        client, admin, address="456 Oak Ave", neighborhood="Oakwood", price=850000, square_feet=2500, bedrooms=4, days_on_market=14
    )
    market = (await client.get(f"/v2/properties/{subject['id']}", headers=admin.auth)).json()["market_data"]
    assert market == {"days_on_market": 14, "price_per_sqft": 340, "comparable_avg_price": 857500, "comparables_count": 4}
    body = {
        "seller_id": "seller-001",
        "property_address": "456 Oak Ave, Rancho Cucamonga, CA 91730",
        "neighborhood": "Oakwood",
        "bedrooms": 4,
        "bathrooms": 2.5,
        "square_feet": 2500,
        "condition": "good",
        "list_price": 850000,
    }
    response = await client.post("/v2/seller-analysis", headers=admin.auth, json=body)
    assert response.status_code == 200, response.text
    analysis = response.json()
    # Price per sqft of the five comparables (the subject included, it has a price): 333.33, 338.46, 340, 340, 360.
    per_sqft = sorted(Decimal(str(c["price_per_sqft"])) for c in analysis["cma"]["comparable_properties"])
    assert per_sqft == [Decimal("333.33"), Decimal("338.46"), Decimal("340"), Decimal("340"), Decimal("360")]
    assert analysis["cma"]["price_recommendation"]["mid"] == 850000
    assert analysis["cma"]["price_recommendation"]["low"] == 846150 and analysis["cma"]["price_recommendation"]["high"] == 850000
    assert analysis["seller_temperature"] == "warm" and analysis["recommendations"][0] == "Price competitively at 850,000"
    assert analysis["market_conditions"].startswith("Strong seller market")
    assert 0 < analysis["cma"]["price_recommendation"]["confidence"] <= 0.5
    no_size = await client.post("/v2/seller-analysis", headers=admin.auth, json={"seller_id": "s"})
    assert no_size.status_code == 422 and no_size.json()["error"]["details"]["field"] == "square_feet"


async def test_another_tenant_and_wrong_roles_are_refused(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin, other = await tenants.create(), await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    support = await tenants.add_user(admin, "support")
    finance = await tenants.add_user(admin, "finance")
    theirs = await new_property(client, admin, assigned_user_id=admin.user_id)
    mine = await new_property(client, agent)
    assert mine["assigned_user_id"] == agent.user_id, "an agent's new property is theirs"
    portfolio = (
        await client.post("/v2/portfolio/portfolios", headers=admin.auth, json={"name": "P", "property_ids": [theirs["id"]]})
    ).json()
    for method, url, body in (
        ("GET", f"/v2/properties/{theirs['id']}", None),
        ("PATCH", f"/v2/properties/{theirs['id']}", {"city": "x"}),
        ("GET", f"/v2/properties/{theirs['id']}/timeline", None),
        ("DELETE", f"/v2/properties/{theirs['id']}", None),
        ("GET", f"/v2/portfolio/portfolios/{portfolio['id']}", None),
        ("PATCH", f"/v2/portfolio/portfolios/{portfolio['id']}", {"name": "x"}),
        ("POST", "/v2/portfolio/reconcile", {"portfolio_id": portfolio["id"]}),
        ("DELETE", f"/v2/portfolio/portfolios/{portfolio['id']}", None),
    ):
        response = await client.request(method, url, headers=other.auth, json=body)
        assert response.status_code == 404, (method, url, response.text)
    assert (await client.get("/v2/properties", headers=other.auth)).json() == []
    crossed = await client.post("/v2/portfolio/portfolios", headers=other.auth, json={"name": "P", "property_ids": [theirs["id"]]})
    assert crossed.status_code == 422
    bulk = (
        await client.post("/v2/properties/bulk", headers=other.auth, json={"property_ids": [theirs["id"]], "current_stage": "outreach"})
    ).json()
    assert bulk == {"updated": [], "refused": {str(theirs["id"]): "Property not found"}}
    # Agents change their own (and unassigned) properties, and take only themselves.
    assert (await client.patch(f"/v2/properties/{theirs['id']}", headers=agent.auth, json={"city": "x"})).status_code == 403
    assert (await client.patch(f"/v2/properties/{mine['id']}", headers=agent.auth, json={"current_stage": "outreach"})).status_code == 200
    assert (
        await client.patch(f"/v2/properties/{mine['id']}", headers=agent.auth, json={"assigned_user_id": admin.user_id})
    ).status_code == 403
    assert (await client.delete(f"/v2/properties/{mine['id']}", headers=agent.auth)).status_code == 403
    mixed = (
        await client.post(
            "/v2/properties/bulk", headers=agent.auth, json={"property_ids": [theirs["id"], mine["id"]], "current_stage": "qualified"}
        )
    ).json()
    assert mixed["updated"] == [mine["id"]] and list(mixed["refused"]) == [str(theirs["id"])]
    assert (await client.get("/v2/portfolio/portfolios", headers=agent.auth)).status_code == 403
    assert (await client.post("/v2/portfolio/reconcile", headers=agent.auth, json={"portfolio_id": portfolio["id"]})).status_code == 403
    for reader in (support, finance):
        assert (await client.get("/v2/properties", headers=reader.auth)).status_code == 200
        assert (await client.get(f"/v2/properties/{theirs['id']}", headers=reader.auth)).status_code == 200
        assert (await client.post("/v2/properties", headers=reader.auth, json={"address": "x"})).status_code == 403
        assert (await client.patch(f"/v2/properties/{mine['id']}", headers=reader.auth, json={"city": "x"})).status_code == 403
        assert (await client.post("/v2/properties/match", headers=reader.auth, json={})).status_code == 403
    assert (await client.get("/v2/portfolio/portfolios", headers=finance.auth)).status_code == 200
    assert (await client.get("/v2/portfolio/portfolios", headers=support.auth)).status_code == 403
    _, read_key = await tenants.api_key(admin, "read")
    assert (await client.get("/v2/properties", headers={"X-API-Key": read_key})).status_code == 200
    assert (await client.post("/v2/properties", headers={"X-API-Key": read_key}, json={"address": "x"})).status_code == 403
    assert (await client.delete(f"/v2/properties/{theirs['id']}", headers=admin.auth)).status_code == 204
    assert (await client.get(f"/v2/properties/{theirs['id']}", headers=admin.auth)).status_code == 404


async def test_rentals_are_matched_and_compared_with_rentals_only(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    common = {"neighborhood": "Marina", "bedrooms": 2, "square_feet": 1000}
    sale = await new_property(client, admin, address="For sale", price=90000, listing_status="for_sale", **common)
    rental = await new_property(client, admin, address="For rent", price=95000, listing_status="for_rent", **common)
    await new_property(client, admin, address="Sold nearby", price=1_500_000, listing_status="sold", **common)
    wishes = {"budget_min": 80000, "budget_max": 100000}
    buying = (await client.post("/v2/properties/match", headers=admin.auth, json=wishes)).json()
    assert [m["property_id"] for m in buying["matches"]] == [sale["id"]], "a yearly rent is not a sale price"
    renting = (await client.post("/v2/properties/match", headers=admin.auth, json={**wishes, "transaction_type": "RENT"})).json()
    assert [m["property_id"] for m in renting["matches"]] == [rental["id"]]
    tenant_lead = await make_lead(client, admin, budget_min=80000, budget_max=100000, transaction_type="RENT")
    by_lead = (await client.post("/v2/properties/match", headers=admin.auth, json={"lead_id": tenant_lead["id"]})).json()
    assert [m["property_id"] for m in by_lead["matches"]] == [rental["id"]]
    market = (await client.get(f"/v2/properties/{sale['id']}", headers=admin.auth)).json()["market_data"]
    assert (market["comparables_count"], market["comparable_avg_price"]) == (1, 1_500_000), "the rental is not a comparable"
    rented = (await client.get(f"/v2/properties/{rental['id']}", headers=admin.auth)).json()["market_data"]
    assert rented["comparables_count"] == 0
