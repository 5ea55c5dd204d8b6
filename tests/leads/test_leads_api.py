"""Leads through the JSON API, including the reference guide's own examples."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from litestar import Litestar

from tests.factories import BULK_LEADS_SQL, Tenants, make_lead
from tests.helpers import browser_login

PHP_EXAMPLE = {  # ArtinSmartRealty guide §8.3, verbatim
    "name": "Mohammed Ali",
    "phone": "+971501234567",
    "email": "mohammed@example.com",
    "source": "website",
    "budget_min": 3000000,
    "budget_max": 5000000,
    "property_type": "VILLA",
    "transaction_type": "BUY",
    "purpose": "LIVING",
    "preferred_location": "Emirates Hills",
}


async def test_reference_php_example_creates_a_lead(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    _, key = await tenants.api_key(admin, "write")
    response = await client.post(
        "/v2/leads", headers={"X-API-Key": key, "X-Tenant-ID": str(admin.tenant_id)}, content=json.dumps(PHP_EXAMPLE)
    )
    assert response.status_code == 201
    lead = response.json()
    assert response.headers["location"] == f"/v2/leads/{lead['id']}"
    assert lead["status"] == "NEW" and lead["created_at"] and lead["conversation_url"].endswith(f"/leads/{lead['id']}")
    assert lead["budget_min"] == 3000000 and lead["budget_max"] == 5000000, "money is a JSON number"
    assert b'"budget_min":3000000' in response.content
    assert lead["tenant_id"] == admin.tenant_id and lead["appointment"] is None


async def test_reference_python_example_lists_qualified_leads(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    _, key = await tenants.api_key(admin, "read")
    qualified = await make_lead(client, admin, name="Ali Hassan", phone="+971501234567", budget_min=2000000, status="QUALIFIED")
    await make_lead(client, admin, name="Someone New", phone="+971501234568")
    headers = {"X-API-Key": key, "X-Tenant-ID": str(admin.tenant_id)}
    params = {
        "status": "QUALIFIED",
        "created_after": (datetime.now(UTC) - timedelta(days=7)).isoformat().replace("+00:00", "Z"),
        "limit": 100,
    }
    response = await client.get("/v2/leads", headers=headers, params=params)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1 and body["limit"] == 100 and body["offset"] == 0
    lead = body["data"][0]
    assert (lead["id"], lead["name"], lead["phone"], lead["budget_min"]) == (qualified["id"], "Ali Hassan", "+971501234567", 2000000)
    expected = {"id", "name", "phone", "email", "status", "budget_min", "budget_max", "property_type", "transaction_type", "purpose"}
    assert (
        expected | {"preferred_location", "language", "hotness_score", "created_at", "last_interaction", "conversation_url"} <= lead.keys()
    )


async def test_phone_must_be_international_with_the_reference_error_shape(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    response = await client.post("/v2/leads", headers=admin.auth, json={"name": "X", "phone": "123456"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == {"field": "phone", "provided": "123456", "expected": "International format starting with +"}
    formatted = await make_lead(client, admin, phone="+971 50-123 4567")
    assert formatted["phone"] == "+971501234567"
    assert (await client.get("/v2/leads", headers=admin.auth)).json()["total"] == 1


async def test_duplicate_phone_or_email_is_409_naming_the_existing_lead(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    first = await make_lead(client, admin, name="First", phone="+971501111111", email="first@example.com")
    dup_phone = await client.post("/v2/leads", headers=admin.auth, json={"name": "Again", "phone": "+971 50 111 1111"})
    assert dup_phone.status_code == 409
    assert dup_phone.json()["error"]["details"]["existing_lead_id"] == first["id"]
    dup_email = await client.post("/v2/leads", headers=admin.auth, json={"name": "Again", "email": "FIRST@example.com"})
    assert dup_email.status_code == 409 and dup_email.json()["error"]["details"]["field"] == "email"
    # Another tenant may have the same person.
    await make_lead(client, other, name="First", phone="+971501111111")


async def test_patch_records_status_notes_and_assignment_on_the_timeline(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    lead = await make_lead(client, admin, name="Ali", phone="+971501234567")
    patch = {"status": "NEGOTIATING", "notes": "Client interested in Property #456. Sent brochure.", "agent_id": agent.user_id}
    response = await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json=patch)
    assert response.status_code == 200
    assert response.json()["status"] == "NEGOTIATING" and response.json()["agent_id"] == agent.user_id
    assert response.json()["agent_name"].startswith("Agent")
    timeline = (await client.get(f"/v2/leads/{lead['id']}/timeline", headers=admin.auth)).json()
    kinds = [e["kind"] for e in timeline["data"]]
    assert {"created", "status_changed", "note_added", "assigned", "scored"} <= set(kinds)
    status_move = next(e for e in timeline["data"] if e["kind"] == "status_changed")
    assert status_move["changes"] == {"status": ["NEW", "NEGOTIATING"]} and status_move["actor"] == admin.email
    assert next(e for e in timeline["data"] if e["kind"] == "note_added")["summary"] == patch["notes"]
    assert timeline["data"][-1]["kind"] == "created", "newest first"


async def test_forbidden_and_invalid_fields_change_nothing(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Keep", budget_min=100, budget_max=200)
    for body in (
        {"tenant_id": 999},
        {"id": 5},
        {"hotness_score": 100},
        {"created_at": "2020-01-01T00:00:00Z"},
        {"budget_min": 500},
        {"status": "DONE"},
    ):
        response = await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json=body)
        assert response.status_code == 422, body
    after = (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).json()
    assert after["budget_min"] == 100 and after["hotness_score"] == lead["hotness_score"] and after["status"] == "NEW"
    assert (await client.post("/v2/leads", headers=admin.auth, json={"name": "Neg", "budget_min": -1})).status_code == 422
    assert (await client.post("/v2/leads", headers=admin.auth, json={"name": "Frac", "budget_min": "1.005"})).status_code == 422


async def test_roles_support_reads_agents_edit_own_and_unassigned(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    other_agent = await tenants.add_user(admin, "agent")
    support = await tenants.add_user(admin, "support")
    unassigned = await make_lead(client, admin, name="Nobody's")
    theirs = await make_lead(client, admin, name="Theirs", agent_id=other_agent.user_id)
    assert (await client.get("/v2/leads", headers=support.auth)).json()["total"] == 2
    assert (await client.post("/v2/leads", headers=support.auth, json={"name": "x"})).status_code == 403
    assert (await client.patch(f"/v2/leads/{unassigned['id']}", headers=support.auth, json={"name": "x"})).status_code == 403
    assert (await client.patch(f"/v2/leads/{unassigned['id']}", headers=agent.auth, json={"agent_id": agent.user_id})).status_code == 200
    assert (await client.patch(f"/v2/leads/{theirs['id']}", headers=agent.auth, json={"name": "Mine now"})).status_code == 403
    assert (
        await client.patch(f"/v2/leads/{unassigned['id']}", headers=agent.auth, json={"agent_id": other_agent.user_id})
    ).status_code == 403
    own = await make_lead(client, agent, name="Agent's own")
    assert own["agent_id"] == agent.user_id, "an agent's new lead is theirs"
    assert (await client.delete(f"/v2/leads/{own['id']}", headers=agent.auth)).status_code == 403
    assert (await client.get(f"/v2/leads/{theirs['id']}", headers=support.auth)).json()["name"] == "Theirs"


async def test_another_tenants_leads_are_404_everywhere(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a = await tenants.create()
    b = await tenants.create()
    lead = await make_lead(client, b, name="B's lead", phone="+971509999999")
    for method, path, body in (
        ("GET", f"/v2/leads/{lead['id']}", None),
        ("PATCH", f"/v2/leads/{lead['id']}", {"name": "stolen"}),
        ("DELETE", f"/v2/leads/{lead['id']}", None),
        ("POST", f"/v2/leads/{lead['id']}/score", None),
        ("GET", f"/v2/leads/{lead['id']}/timeline", None),
        ("POST", f"/v2/leads/{lead['id']}/restore", None),
    ):
        response = await client.request(method, path, headers=a.auth, json=body)
        assert response.status_code == 404, (method, path)
    assert (await client.get("/v2/leads", headers=a.auth)).json()["total"] == 0
    assert (await client.get("/v2/leads?q=B's", headers=a.auth)).json()["data"] == []
    assert (await client.get(f"/v2/leads/{lead['id']}", headers=b.auth)).json()["name"] == "B's lead"
    # B's agent cannot be assigned by A either.
    mine = await make_lead(client, a, name="A's")
    assigned = await client.patch(f"/v2/leads/{mine['id']}", headers=a.auth, json={"agent_id": b.user_id})
    assert assigned.status_code == 422 and assigned.json()["error"]["details"]["field"] == "agent_id"


async def test_soft_delete_and_admin_restore(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    manager = await tenants.add_user(admin, "manager")
    lead = await make_lead(client, admin, name="Gone", phone="+971502222222")
    assert (await client.delete(f"/v2/leads/{lead['id']}", headers=manager.auth)).status_code == 204
    assert (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).status_code == 404
    assert (await client.get("/v2/leads", headers=admin.auth)).json()["total"] == 0
    assert await db.fetchval("SELECT deleted_at IS NOT NULL FROM lead WHERE id = $1", lead["id"]), "kept, not erased"
    assert (await client.get("/v2/leads?deleted=true", headers=manager.auth)).status_code == 403
    assert [d["id"] for d in (await client.get("/v2/leads?deleted=true", headers=admin.auth)).json()["data"]] == [lead["id"]]
    assert (await client.post(f"/v2/leads/{lead['id']}/restore", headers=manager.auth)).status_code == 403
    restored = await client.post(f"/v2/leads/{lead['id']}/restore", headers=admin.auth)
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None
    kinds = [e["kind"] for e in (await client.get(f"/v2/leads/{lead['id']}/timeline", headers=admin.auth)).json()["data"]]
    assert kinds[:2] == ["restored", "deleted"]
    audit = (await client.get("/v2/audit-log?action=lead.deleted", headers=admin.auth)).json()
    assert audit["total"] == 1


async def test_score_is_explained_and_the_hot_rule_applies(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    cold = await make_lead(client, admin, name="Cold")
    assert cold["temperature"] == "cold" and cold["hotness_score"] == 0
    hot = await make_lead(
        client,
        admin,
        name="Fatima",
        phone="+971521234567",
        budget_min=8000000,
        budget_max=12000000,
        property_type="VILLA",
        purpose="RESIDENCY",
        qualification_duration_seconds=68,
    )
    score = (await client.post(f"/v2/leads/{hot['id']}/score", headers=admin.auth)).json()
    assert score["lead_id"] == hot["id"] and score["hot"] is True and score["temperature"] == "hot"
    assert sum(score["factors"].values()) == score["score"]
    assert {"budget_above_5m", "fast_response_time", "golden_visa_intent", "phone_provided"} <= set(score["urgency_indicators"])
    assert score["recommended_action"] == "Call within 15 minutes"
    assert 0 < score["confidence"] <= 1
    # Changing the lead rescores it automatically.
    lost = (await client.patch(f"/v2/leads/{hot['id']}", headers=admin.auth, json={"status": "LOST"})).json()
    assert lost["temperature"] == "cold"


async def test_score_all_runs_as_a_job(app: Litestar, client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Stale", phone="+971503333333")
    await db.execute("UPDATE lead SET hotness_score = 99, temperature = 'hot' WHERE id = $1", lead["id"])
    agent = await tenants.add_user(admin, "agent")
    assert (await client.post("/v2/leads/score-all", headers=agent.auth)).status_code == 403
    response = await client.post("/v2/leads/score-all", headers=admin.auth)
    assert response.status_code == 202
    job = await app.state.queue.job(response.json()["job_key"])
    await job.refresh(until_complete=20)
    assert job.status == "complete" and job.result == {"processed": 1, "changed": 1}
    assert (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).json()["hotness_score"] == lead["hotness_score"]


async def test_filters_search_and_sort(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    await make_lead(
        client, admin, name="Ali Hassan", phone="+971501000001", budget_min=1000000, budget_max=2000000, language="ar", source="telegram"
    )
    await make_lead(
        client, admin, name="Sarah Ahmed", email="sarah@example.com", budget_min=5000000, property_type="VILLA", agent_id=agent.user_id
    )
    await make_lead(client, admin, name="Tom Lee", phone="+447700900123", status="QUALIFIED", budget_max=800000)

    async def names(query: str) -> list[str]:
        response = await client.get(f"/v2/leads?{query}", headers=admin.auth)
        assert response.status_code == 200, response.text
        return [lead["name"] for lead in response.json()["data"]]

    assert await names("q=hass") == ["Ali Hassan"]
    assert await names("q=sarah@") == ["Sarah Ahmed"]
    assert await names("q=7700") == ["Tom Lee"]
    assert await names("language=ar") == ["Ali Hassan"]
    assert await names("source=telegram") == ["Ali Hassan"]
    assert await names("property_type=VILLA") == ["Sarah Ahmed"]
    assert await names(f"agent_id={agent.user_id}") == ["Sarah Ahmed"]
    assert sorted(await names("unassigned=true")) == ["Ali Hassan", "Tom Lee"]
    assert sorted(await names("budget_min=1500000")) == ["Ali Hassan", "Sarah Ahmed"]
    assert sorted(await names("budget_max=1000000")) == ["Ali Hassan", "Tom Lee"]
    assert await names("status=qualified") == ["Tom Lee"]
    assert sorted(await names("status=NEW,QUALIFIED")) == ["Ali Hassan", "Sarah Ahmed", "Tom Lee"]
    assert await names("sort=name") == ["Ali Hassan", "Sarah Ahmed", "Tom Lee"]
    assert await names("sort=-name&limit=1&offset=1") == ["Sarah Ahmed"]
    assert await names("q=%25") == [], "LIKE wildcards are literal"
    bad = await client.get("/v2/leads?status=DONE", headers=admin.auth)
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "status"
    assert (await client.get("/v2/leads?sort=phone_hash", headers=admin.auth)).status_code == 422
    assert (await client.get("/v2/leads?property_type=CASTLE", headers=admin.auth)).status_code == 422


async def test_if_match_protects_against_lost_updates(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Versioned")
    etag = (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).headers["etag"]
    assert (
        await client.patch(f"/v2/leads/{lead['id']}", headers={**admin.auth, "If-Match": etag}, json={"name": "One"})
    ).status_code == 200
    stale = await client.patch(f"/v2/leads/{lead['id']}", headers={**admin.auth, "If-Match": etag}, json={"name": "Two"})
    assert stale.status_code == 412
    assert (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).json()["name"] == "One"


async def test_totals_are_exact_and_cheap_for_status_filters(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    """lead_counter follows inserts (bulk too), status moves, soft deletes and restores in the same transaction."""

    admin = await tenants.create()
    other = await tenants.create()
    await db.execute(BULK_LEADS_SQL, admin.tenant_id, 12_000)
    await db.execute(BULK_LEADS_SQL, other.tenant_id, 5)
    lead = await make_lead(client, admin, name="Counted", status="QUALIFIED")

    async def total(query: str) -> tuple[int, bool]:
        body = (await client.get(f"/v2/leads?limit=1&{query}", headers=admin.auth)).json()
        return body["total"], body["total_is_estimate"]

    assert await total("") == (12_001, False)
    assert await total("status=QUALIFIED") == (1, False)
    assert await total("status=NEW,QUALIFIED") == (12_001, False)
    await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"status": "WON"})
    assert await total("status=QUALIFIED") == (0, False) and await total("status=WON") == (1, False)
    await client.delete(f"/v2/leads/{lead['id']}", headers=admin.auth)
    assert await total("") == (12_000, False)
    await client.post(f"/v2/leads/{lead['id']}/restore", headers=admin.auth)
    assert await total("status=WON") == (1, False)
    count, estimate = await total("source=import")
    assert estimate and count > 5_000, "other filters past the cap are estimated, and say so"
    assert await total("source=manual") == (1, False), "a short page is its own exact total"
    assert await total("q=Lead%2011") == (1 + 10 + 100 + 1000, False), "small results are counted exactly"
    assert await total("q=Lead%201") != (0, False)
    assert await db.fetchval("SELECT sum(live) FROM lead_counter WHERE tenant_id = $1", other.tenant_id) == 5


async def test_a_phone_is_found_however_it_is_typed(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Dialled Dana", phone="+971 50-123 4567")
    assert lead["phone"] == "+971501234567"
    for typed in ("+971 50 123 4567", "971-50-123-4567", "050 123 4567", "0501234567"):
        found = (await client.get("/v2/leads", headers=admin.auth, params={"q": typed})).json()
        assert [x["id"] for x in found["data"]] == [lead["id"]], typed


async def test_the_guides_json_export_of_the_list(client: httpx.AsyncClient, tenants: Tenants) -> None:
    """`GET /v2/leads?export=json` answers the envelope of §5.1 with every matching lead."""
    admin = await tenants.create()
    for n in range(3):
        await make_lead(client, admin, name=f"Exported {n}", status="QUALIFIED" if n else "NEW")
    body = (await client.get("/v2/leads?export=json&status=QUALIFIED", headers=admin.auth)).json()
    assert list(body) == ["export_id", "created_at", "total_records", "data"]
    assert body["export_id"].startswith("exp_") and body["total_records"] == 2 and len(body["data"]) == 2
    support = await tenants.add_user(admin, "support")
    assert (await client.get("/v2/leads?export=json", headers=support.auth)).status_code == 403
    assert (await client.get("/v2/leads", headers=support.auth)).status_code == 200


async def test_leads_are_assigned_only_to_people_who_work_them(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    support = await tenants.add_user(admin, "support")
    agent = await tenants.add_user(admin, "agent")
    refused = await client.post("/v2/leads", headers=admin.auth, json={"name": "Misrouted", "agent_id": support.user_id})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["field"] == "agent_id"
    assert (await client.post("/v2/leads", headers=admin.auth, json={"name": "Routed", "agent_id": agent.user_id})).status_code == 201
    await browser_login(client, admin)
    page = (await client.get("/leads/new")).text
    picker = page.split('name="agent_id"', 1)[1].split("</select>", 1)[0]
    assert f'value="{agent.user_id}"' in picker and f'value="{support.user_id}"' not in picker


async def test_text_with_a_nul_character_is_refused_not_a_server_error(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    response = await client.post("/v2/leads", headers=admin.auth, json={"name": "Nul\u0000Lead"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_a_search_page_is_the_same_whichever_way_it_is_found(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    """A common word's page comes from the newest (or hottest) leads' window, a rare word's or a deep page's from the
    trigram index (app.leads.service.list_leads): both are exactly the rows the whole ordering gives."""
    admin = await tenants.create()
    await db.execute(BULK_LEADS_SQL, admin.tenant_id, 12_000)
    await db.execute("UPDATE lead SET hotness_score = (id * 7919) % 100 WHERE tenant_id = $1", admin.tenant_id)
    expected_order = {"-created_at": "created_at DESC, id DESC", "hotness_score": "hotness_score ASC, id ASC", "name": "name ASC, id ASC"}
    for q, sort, offset, limit in (
        ("Lead 1", "-created_at", 0, 20),  # ~3,100 matches: the window
        ("Lead 1", "-created_at", 40, 25),
        ("Lead 1", "hotness_score", 0, 50),
        ("Lead 1", "-created_at", 4_990, 20),  # past the window: the index
        ("Lead 1", "name", 0, 20),  # no index walks names: the index
        ("Lead 11999", "-created_at", 0, 20),  # rare: the window holds less than a page
        ("ead 5", "-created_at", 0, 100),
    ):
        page = await client.get("/v2/leads", headers=admin.auth, params={"q": q, "sort": sort, "offset": offset, "limit": limit})
        assert page.status_code == 200, page.text
        expected = await db.fetch(
            f"SELECT id FROM lead WHERE tenant_id = $1 AND deleted_at IS NULL AND name ILIKE $2 "
            f"ORDER BY {expected_order[sort]} LIMIT {limit} OFFSET {offset}",
            admin.tenant_id,
            f"%{q}%",
        )
        assert [r["id"] for r in page.json()["data"]] == [r["id"] for r in expected], (q, sort, offset)
