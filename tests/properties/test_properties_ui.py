"""The properties screens over HTTP: list and its fragments, bulk changes, the board and its moves, a property's page
with click-to-edit, matching buyers, the portfolio screen, a lead's best matches; roles and tenancy."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.factories import Account, Tenants, make_lead
from tests.helpers import browser_login


async def prop(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v2/properties", headers=who.auth, json={"address": "1 Test St", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def csrf(page: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


async def test_the_list_filters_in_the_url_and_bulk_changes(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    villa = await prop(client, admin, address="7 Palm Villa", neighborhood="Palm Jumeirah", tags=["sea"], bird_dog_score=0.9)
    flat = await prop(client, admin, address="12 Marina Flat", neighborhood="Dubai Marina")
    await browser_login(client, admin)
    page = await client.get("/properties")
    assert page.status_code == 200 and "7 Palm Villa" in page.text and "12 Marina Flat" in page.text
    hx = {"HX-Request": "true", "HX-Target": "property-results"}
    found = await client.get("/properties", params={"q": "palm"}, headers=hx)
    assert "7 Palm Villa" in found.text and "12 Marina Flat" not in found.text and "<html" not in found.text
    assert found.headers["hx-push-url"] == "/properties?q=palm"
    tagged = await client.get("/properties", params={"tag": "sea", "score_min": "0.7"}, headers=hx)
    assert "7 Palm Villa" in tagged.text and "12 Marina Flat" not in tagged.text
    token = csrf(page.text)
    moved = await client.post(
        "/properties/bulk",
        data={"ids": [str(villa["id"]), str(flat["id"])], "action": "stage", "bulk_stage": "outreach", "_csrf_token": token},
        headers=hx,
    )
    assert moved.status_code == 200 and "Moved 2 properties to Outreach." in moved.text
    assigned = await client.post(
        "/properties/bulk",
        data={"ids": [str(flat["id"])], "action": "assign", "bulk_agent": str(agent.user_id), "_csrf_token": token},
        headers=hx,
    )
    assert "Assigned 1 property." in assigned.text
    got = (await client.get(f"/v2/properties/{flat['id']}", headers=admin.auth)).json()
    assert (got["current_stage"], got["assigned_user_id"]) == ("outreach", agent.user_id)
    portfolio = await client.post(
        "/properties/bulk",
        data={"ids": [str(villa["id"])], "action": "portfolio", "portfolio": "", "new_portfolio": "Coast", "_csrf_token": token},
        headers=hx,
    )
    assert "Coast now holds 1 properties." in portfolio.text
    nothing = await client.post("/properties/bulk", data={"action": "stage", "_csrf_token": token}, headers=hx)
    assert nothing.status_code == 422 and "Select at least one property first." in nothing.text


async def test_the_board_moves_a_card_and_refuses_with_the_reason(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    theirs = await prop(client, admin, address="Admin's", assigned_user_id=admin.user_id)
    mine = await prop(client, agent, address="Agent's")
    await browser_login(client, agent)
    page = await client.get("/properties/board")
    assert page.status_code == 200 and 'data-board="properties"' in page.text and "Under contract" in page.text
    assert f'id="property-card-{mine["id"]}" data-card="{mine["id"]}" data-position="1" data-movable' in page.text
    assert f'id="property-card-{theirs["id"]}" data-card="{theirs["id"]}" data-position="2">' in page.text, "not movable by this agent"
    hx = {"HX-Request": "true", "HX-Target": "board", "X-CSRF-Token": csrf(page.text)}
    moved = await client.post(f"/properties/{mine['id']}/move", data={"stage_id": "qualified"}, headers=hx)
    assert moved.status_code == 200 and "Moved “Agent&#39;s” to Qualified." in moved.text
    refused = await client.post(f"/properties/{theirs['id']}/move", data={"stage_id": "qualified"}, headers=hx)
    assert refused.status_code == 403 and "only properties assigned to you" in refused.text and 'id="board"' in refused.text
    assert (await client.get(f"/v2/properties/{theirs['id']}", headers=admin.auth)).json()["current_stage"] == "new"
    wrong = await client.post(f"/properties/{mine['id']}/move", data={"stage_id": "sold"}, headers=hx)
    assert wrong.status_code == 422 and 'id="board"' in wrong.text


async def test_a_property_page_edits_in_place_and_shows_buyers(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    home = await prop(client, admin, address="3 Haven Rd", neighborhood="Haven", price=700000, bedrooms=3, listing_status="for_sale")
    buyer = await make_lead(client, admin, name="Buyer Bea", budget_min=650000, budget_max=750000, preferred_locations=["Haven"])
    await make_lead(client, admin, name="Too Poor", budget_min=100000, budget_max=200000)
    await browser_login(client, admin)
    page = await client.get(f"/properties/{home['id']}")
    assert page.status_code == 200 and "Market data" in page.text and "Property Added to Pipeline" in page.text
    token = csrf(page.text)
    form = await client.get(f"/properties/{home['id']}/edit", headers={"HX-Request": "true", "HX-Target": "details"})
    assert 'name="_version"' in form.text and "<html" not in form.text
    version = re.search(r'name="_version" value="([^"]+)"', form.text)
    assert version is not None
    edit = {
        "_form": "details",
        "_version": html.unescape(version.group(1)),
        "address": "3 Haven Rd",
        "bedrooms": "4",
        "owner_phone": "555",
        "_csrf_token": token,
    }
    refused = await client.patch(f"/properties/{home['id']}", data=edit, headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "international format" in refused.text and 'value="555"' in refused.text
    saved = await client.patch(
        f"/properties/{home['id']}", data={**edit, "owner_phone": "+971 50 123 4567"}, headers={"HX-Request": "true"}
    )
    assert saved.status_code == 200, re.findall(r"(?:error|alert)[^>]*>([^<]*)<", saved.text)
    assert saved.status_code == 200 and "+971501234567" in saved.text and "Changed bedrooms, owner_phone" in saved.text
    stale = await client.patch(f"/properties/{home['id']}", data={**edit, "owner_phone": ""}, headers={"HX-Request": "true"})
    assert stale.status_code == 422 and "changed" in stale.text.lower(), "a save over someone else's change is refused"
    buyers = await client.get(f"/properties/{home['id']}/buyers", headers={"HX-Request": "true"})
    assert "Buyer Bea" in buyers.text and "Too Poor" not in buyers.text and "fits budget" in buyers.text
    lead_page = await client.get(f"/leads/{buyer['id']}")
    assert 'hx-get="/leads/' + str(buyer["id"]) + '/matches"' in lead_page.text
    matches = await client.get(f"/leads/{buyer['id']}/matches", headers={"HX-Request": "true"})
    assert "3 Haven Rd" in matches.text and f'data-book-property="{home["id"]}"' in matches.text


async def test_the_portfolio_screen_reconciles(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    support = await tenants.add_user(admin, "support")
    a = await prop(client, admin, address="A", estimated_value=1_000_000, current_stage="closed_won")
    created = await client.post("/v2/portfolio/portfolios", headers=admin.auth, json={"name": "Core", "property_ids": [a["id"]]})
    portfolio = created.json()
    await client.patch(f"/v2/properties/{a['id']}", headers=admin.auth, json={"estimated_value": 1_100_000})
    await browser_login(client, admin)
    page = await client.get("/properties/portfolio")
    assert page.status_code == 200 and "Core" in page.text and "100.0%" in page.text, "1 of 1 closed won"
    result = await client.post(
        f"/properties/portfolio/{portfolio['id']}/reconcile",
        headers={"HX-Request": "true", "HX-Target": "portfolios", "X-CSRF-Token": csrf(page.text)},
    )
    assert result.status_code == 200 and "Reconciliation failed" in result.text and "10.0" in result.text
    settings = await client.post(
        "/properties/portfolio",
        data={"portfolio_id": str(portfolio["id"]), "expected_value": "lots", "threshold": "0.5", "_csrf_token": csrf(page.text)},
        headers={"HX-Request": "true", "HX-Target": "portfolios"},
    )
    assert settings.status_code == 422 and "Enter an amount" in settings.text
    await browser_login(client, support)
    seen = await client.get("/properties/portfolio")
    assert seen.status_code == 200 and "Core" not in seen.text and "kept by admins, managers and finance" in seen.text
    token = csrf(seen.text)
    refused = await client.post(f"/properties/portfolio/{portfolio['id']}/reconcile", headers={"X-CSRF-Token": token})
    assert refused.status_code == 403


async def test_screens_refuse_another_tenant_and_wrong_roles(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin, other = await tenants.create(), await tenants.create()
    finance = await tenants.add_user(admin, "finance")
    home = await prop(client, admin, address="Private Rd")
    lead = await make_lead(client, admin, budget_max=1000)
    await browser_login(client, other)
    for url in (
        f"/properties/{home['id']}",
        f"/properties/{home['id']}/edit",
        f"/properties/{home['id']}/buyers",
        f"/leads/{lead['id']}/matches",
    ):
        assert (await client.get(url)).status_code == 404, url
    listing = await client.get("/properties")
    assert "Private Rd" not in listing.text
    token = csrf(listing.text)
    moved = await client.post(
        f"/properties/{home['id']}/move", data={"stage_id": "outreach"}, headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert moved.status_code == 404
    await browser_login(client, finance)
    seen = await client.get(f"/properties/{home['id']}")
    assert seen.status_code == 200 and "Edit</button>" not in seen.text and "disabled" in seen.text
    token = csrf(seen.text)
    assert (await client.get("/properties/new")).status_code == 403
    assert (await client.get(f"/properties/{home['id']}/edit")).status_code == 403
    edit = await client.patch(
        f"/properties/{home['id']}", data={"current_stage": "outreach"}, headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert edit.status_code == 403
