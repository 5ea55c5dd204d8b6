"""The rule-based sales assistant and score-all-leads through /v2 and on a lead's page: answers from the record's own
facts, tenants and roles (issue #17)."""

from __future__ import annotations

import asyncpg
import httpx

from tests.factories import Tenants, make_lead
from tests.helpers import browser_login, csrf_of


async def test_assistant_answers_from_the_leads_and_deals_own_facts(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    support = await tenants.add_user(admin, "support")
    lead = await make_lead(
        client, admin, name="Maya", phone="+971502220001", budget_min=2000000, budget_max=3000000, property_type="VILLA", urgency_score=9
    )
    body = {"context": "lead_qualification", "lead_id": lead["id"], "question": "What's the best approach for this lead?"}
    response = await client.post("/v2/ai/assistant", headers=agent.auth, json=body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert response.json()["success"] is True and data["rule_based"] is True
    assert data["response"].startswith("Rule-based answer") and "Maya" in data["response"]
    assert data["intent"] == "qualification" and 0 < data["confidence"] <= 1
    assert any(fact == "Budget AED 2,000,000 to AED 3,000,000" for fact in data["facts"]), data["facts"]
    assert "no_task" in data["rules_applied"] and "Plan the next contact as a task" in data["next_steps"]
    assert data["suggestions"]

    # A price question about the same lead anchors on its budget.
    pricing = await client.post("/v2/ai/assistant", headers=agent.auth, json={**body, "question": "They say it's too expensive"})
    priced = pricing.json()["data"]
    assert priced["intent"] == "objection" and "AED 3,000,000" in priced["response"]

    # A deal: its stage, staleness and missing close date drive the answer, then its lead's facts.
    deal = (
        await client.post("/v2/deals", headers=admin.auth, json={"title": "Villa deal", "value": "2500000", "lead_id": lead["id"]})
    ).json()
    await db.execute("UPDATE deal SET last_activity_at = now() - interval '20 days' WHERE id = $1", deal["id"])
    answer = (
        await client.post("/v2/ai/assistant", headers=admin.auth, json={"deal_id": deal["id"], "question": "How do I close it?"})
    ).json()
    assert {"early_stage", "stale", "no_close_date", "closing"} <= set(answer["data"]["rules_applied"])
    assert "Set an expected close date" in answer["data"]["next_steps"]

    chat = await client.post(
        "/v2/ai/chat",
        headers=agent.auth,
        json={"message": "How should I handle this objection about pricing?", "context": {"deal_id": deal["id"], "lead_score": 85}},
    )
    assert chat.status_code == 200 and chat.json()["data"]["intent"] == "objection"
    assert "objection_value" in chat.json()["data"]["rules_applied"]
    general = (await client.post("/v2/ai/chat", headers=agent.auth, json={"message": "any tips?", "context": {"lead_score": 85}})).json()
    assert "given_hot" in general["data"]["rules_applied"] and general["data"]["rule_based"] is True
    # The industry hint: what to lead with for a known line of work (aliases too), the question to ask otherwise.
    tech = (
        await client.post("/v2/ai/chat", headers=agent.auth, json={"message": "pricing objection", "context": {"industry": "Tech"}})
    ).json()
    assert "industry:technology" in tech["data"]["rules_applied"] and "Industry given: Tech" in tech["data"]["facts"]
    assert any("fibre" in s for s in tech["data"]["suggestions"])
    on_deal = await client.post(
        "/v2/ai/chat", headers=agent.auth, json={"message": "x", "context": {"deal_id": deal["id"], "industry": "Fishing"}}
    )
    assert "industry:other" in on_deal.json()["data"]["rules_applied"]
    assert "Ask what their work means for their timing" in on_deal.json()["data"]["next_steps"]
    # Kept beside a lead's own rules, which can fill the five suggestions on their own.
    body_lead = {"message": "how do I close?", "context": {"lead_id": lead["id"], "industry": "banking"}}
    on_lead = (await client.post("/v2/ai/chat", headers=admin.auth, json=body_lead)).json()["data"]
    assert "industry:finance" in on_lead["rules_applied"] and any("mortgage terms" in s for s in on_lead["suggestions"])

    # Bad bodies, other tenants, wrong roles.
    for bad in (
        {"question": "x"},
        {"question": "x", "lead_id": lead["id"], "deal_id": deal["id"]},
        {"lead_id": lead["id"], "question": ""},
    ):
        refused = await client.post("/v2/ai/assistant", headers=admin.auth, json=bad)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "VALIDATION_ERROR", bad
    other = await tenants.create()
    for path, payload in (
        ("/v2/ai/assistant", {"lead_id": lead["id"], "question": "x"}),
        ("/v2/ai/assistant", {"deal_id": deal["id"], "question": "x"}),
        ("/v2/ai/chat", {"message": "x", "context": {"lead_id": lead["id"]}}),
    ):
        assert (await client.post(path, headers=other.auth, json=payload)).status_code == 404
    assert (await client.post("/v2/ai/assistant", headers=support.auth, json=body)).status_code == 403
    assert (await client.post("/v2/ai/chat", headers=support.auth, json={"message": "x"})).status_code == 403

    # The card on the lead's page asks the same service.
    await browser_login(client, agent)
    page = await client.get(f"/leads/{lead['id']}")
    assert f'hx-get="/leads/{lead["id"]}/assistant"' in page.text
    card = await client.get(f"/leads/{lead['id']}/assistant", headers={"HX-Request": "true"})
    assert card.status_code == 200 and 'id="assistant-form"' in card.text
    asked = await client.post(
        f"/leads/{lead['id']}/assistant",
        data={"_csrf_token": csrf_of(page.text), "context": "objection_handling", "question": "Too expensive?"},
        headers={"HX-Request": "true", "HX-Target": "assistant-answer", "x-csrf-token": csrf_of(page.text)},
    )
    assert asked.status_code == 200 and "Rule-based answer" in asked.text and "AED 3,000,000" in asked.text
    assert 'id="assistant-form"' not in asked.text  # only the answer block
    await browser_login(client, support)
    assert (await client.get(f"/leads/{lead['id']}/assistant")).status_code == 403
    assert 'id="assistant"' not in (await client.get(f"/leads/{lead['id']}")).text
    await browser_login(client, other)
    assert (await client.get(f"/leads/{lead['id']}/assistant")).status_code == 404


async def test_score_all_leads_runs_the_rescore_job_and_summarises(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    hot = await make_lead(client, admin, name="Hot", phone="+971503330001", budget_max=6000000, email="h@example.com", urgency_score=10)
    await make_lead(client, admin, name="Cold", phone="+971503330002")
    await db.execute("UPDATE lead SET hotness_score = 1, temperature = 'cold' WHERE id = $1", hot["id"])
    response = await client.post("/v2/ai/score-all-leads", headers=admin.auth)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert response.json()["success"] is True
    assert data["processed"] == 2 and data["successful"] == 2 and data["failed"] == 0 and data["changed"] == 1
    scores = [r["hotness_score"] for r in await db.fetch("SELECT hotness_score FROM lead WHERE tenant_id = $1", admin.tenant_id)]
    assert data["average_score"] == round(sum(scores) / 2, 1)
    hot_count = await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1 AND temperature = 'hot'", admin.tenant_id)
    assert data["high_priority_count"] == hot_count and data["status"] == "complete"
    assert data["job_key"] == f"rescore-leads:{admin.tenant_id}"
    assert (await client.post("/v2/ai/score-all-leads", headers=agent.auth)).status_code == 403
    other = await tenants.create()
    theirs = (await client.post("/v2/ai/score-all-leads", headers=other.auth)).json()["data"]
    assert theirs["processed"] == 0 and theirs["high_priority_count"] == 0
