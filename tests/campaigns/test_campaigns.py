"""Campaigns through the API (GET, POST as the reference lists them) and the screen: leads carry `campaign_id`; cost per
lead and won revenue are exact; bad input, roles and tenants are refused."""

from __future__ import annotations

import httpx

from tests.factories import Tenants, make_lead
from tests.helpers import browser_client, browser_login, csrf_of


async def test_a_campaigns_leads_cost_and_won_revenue(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    stranger = await tenants.create()
    created = await client.post(
        "/v2/campaigns",
        headers=admin.auth,
        json={"name": "Summer villas", "source": "facebook_ads", "channel": "social", "budget": "30000.00", "currency": "AED",
              "starts_on": "2026-06-01", "ends_on": "2026-08-31"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert created.headers["location"] == f"/v2/campaigns/{campaign['id']}"
    assert (campaign["leads"], campaign["cost_per_lead"], campaign["won_revenue"]) == (0, None, 0)
    leads = [await make_lead(client, admin, name=f"Buyer {n}", campaign_id=campaign["id"]) for n in range(4)]
    assert leads[0]["campaign_id"] == campaign["id"]
    await make_lead(client, admin, name="Walk-in")
    won = await client.post("/v2/deals", headers=admin.auth, json={"title": "Villa", "value": "2500000.50", "lead_id": leads[0]["id"]})
    assert won.status_code == 201, won.text
    closed = await client.patch(f"/v2/deals/{won.json()['id']}", headers=admin.auth, json={"status": "won"})
    assert closed.status_code == 200, closed.text
    await client.post("/v2/deals", headers=admin.auth, json={"title": "Open one", "value": "999", "lead_id": leads[1]["id"]})
    await client.patch(f"/v2/leads/{leads[0]['id']}", headers=admin.auth, json={"status": "WON"})

    listed = await client.get("/v2/campaigns", headers=admin.auth)
    row = listed.json()["data"][0]
    assert (row["leads"], row["cost_per_lead"], row["won_leads"], row["won_revenue"], row["conversion_rate"]) == (
        4,
        7500,
        1,
        2500000.5,
        0.25,
    )
    assert (await client.get(f"/v2/leads?campaign_id={campaign['id']}", headers=admin.auth)).json()["total"] == 4

    foreign = await client.post("/v2/leads", headers=stranger.auth, json={"name": "x", "campaign_id": campaign["id"]})
    assert foreign.status_code == 422 and foreign.json()["error"]["details"]["field"] == "campaign_id"
    assert (await client.get(f"/v2/campaigns/{campaign['id']}", headers=stranger.auth)).status_code == 404
    assert (await client.get("/v2/campaigns", headers=stranger.auth)).json()["total"] == 0
    bad = await client.post("/v2/campaigns", headers=admin.auth, json={"name": "x", "starts_on": "2026-06-01", "ends_on": "2026-05-01"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "ends_on"
    cents = await client.post("/v2/campaigns", headers=admin.auth, json={"name": "x", "budget": "10.001"})
    assert cents.status_code == 422


async def test_campaign_roles_and_screen(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    support = await tenants.add_user(admin, "support")
    assert (await client.post("/v2/campaigns", headers=agent.auth, json={"name": "Mine"})).status_code == 403
    assert (await client.get("/v2/campaigns", headers=agent.auth)).status_code == 200
    assert (await client.get("/v2/campaigns", headers=support.auth)).status_code == 403
    await browser_login(client, admin)
    page = await client.get("/campaigns")
    assert page.status_code == 200 and "Add a campaign" in page.text
    token = csrf_of(page.text)
    bad = await client.post("/campaigns", data={"_csrf_token": token, "name": "Spring", "budget": "lots"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "has-error" in bad.text and 'value="Spring"' in bad.text
    added = await client.post("/campaigns", data={"_csrf_token": token, "name": "Spring", "budget": "1200", "source": "portal"},
                              headers={"HX-Request": "true"})  # fmt: skip
    assert added.status_code == 200 and "Spring" in added.text and "AED 1,200.00" in added.text
    async with browser_client(client._transport.app) as other:  # type: ignore[attr-defined]
        await browser_login(other, agent)
        seen = await other.get("/campaigns")
        assert "Spring" in seen.text and "Add a campaign" not in seen.text
        assert (await other.post("/campaigns", data={"_csrf_token": csrf_of(seen.text), "name": "x"})).status_code == 403


async def test_won_revenue_in_the_workspace_currency_at_each_days_rate(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    campaign = (await client.post("/v2/campaigns", headers=admin.auth, json={"name": "Expats", "currency": "AED"})).json()
    lead = await make_lead(client, admin, name="Expat", campaign_id=campaign["id"])
    for title, value, currency in (("Flat", "1000000", "AED"), ("US buyer", "100000", "USD"), ("Euro buyer", "50000", "EUR")):
        deal = await client.post(
            "/v2/deals", headers=admin.auth, json={"title": title, "value": value, "currency": currency, "lead_id": lead["id"]}
        )
        assert deal.status_code == 201, deal.text
        assert (await client.patch(f"/v2/deals/{deal.json()['id']}", headers=admin.auth, json={"status": "won"})).status_code == 200
    before = (await client.get(f"/v2/campaigns/{campaign['id']}", headers=admin.auth)).json()
    assert before["won_revenue"] == 1000000 and before["won_revenue_converted"] == 1000000 and before["tenant_currency"] == "AED"
    assert before["won_deals_without_rate"] == 2, "deals in a currency without a rate are left out, and said so"
    rate = {"currency": "USD", "rate": "3.6725", "effective_on": "2020-01-01"}
    assert (await client.post("/v2/billing/exchange-rates", headers=admin.auth, json=rate)).status_code == 201
    after = (await client.get(f"/v2/campaigns/{campaign['id']}", headers=admin.auth)).json()
    assert after["won_revenue_converted"] == 1367250 and after["won_deals_without_rate"] == 1 and after["won_revenue"] == 1000000
    await browser_login(client, admin)
    page = await client.get("/campaigns")
    assert "AED 1,367,250.00 in all" in page.text and "1 deal without an exchange rate" in page.text


async def test_the_lead_form_picks_a_campaign(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    stranger = await tenants.create()
    campaign = (await client.post("/v2/campaigns", headers=admin.auth, json={"name": "Open house"})).json()
    theirs = (await client.post("/v2/campaigns", headers=stranger.auth, json={"name": "Not yours"})).json()
    await browser_login(client, admin)
    form = await client.get("/leads/new")
    assert f'<option value="{campaign["id"]}" >Open house</option>' in form.text and "Not yours" not in form.text
    token = csrf_of(form.text)
    refused = await client.post("/leads", data={"_csrf_token": token, "name": "Wrong", "campaign_id": str(theirs["id"])})
    assert refused.status_code == 422, "another tenant's campaign"
    made = await client.post("/leads", data={"_csrf_token": token, "name": "Visitor", "campaign_id": str(campaign["id"])})
    assert made.status_code == 303, made.text
    lead_id = int(made.headers["location"].rsplit("/", 1)[1])
    assert (await client.get(f"/v2/leads/{lead_id}", headers=admin.auth)).json()["campaign_id"] == campaign["id"]
    page = await client.get(f"/leads/{lead_id}")
    assert "Open house</a>" in page.text
    cleared = await client.post(f"/leads/{lead_id}", data={"_csrf_token": token, "_form": "details", "name": "Visitor", "campaign_id": ""})
    assert cleared.status_code == 303
    assert (await client.get(f"/v2/leads/{lead_id}", headers=admin.auth)).json()["campaign_id"] is None
