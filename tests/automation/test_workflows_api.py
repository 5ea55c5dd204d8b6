"""Automation rules through the JSON API: "when status becomes QUALIFIED, assign round-robin and create a task" runs
once per event in the worker, with a visible run log; a rule cannot trigger itself; bad rules, roles and tenants are
refused."""

from __future__ import annotations

import asyncpg
import httpx

from tests.factories import Tenants, make_lead
from tests.helpers import eventually

QUALIFIED_RULE = {
    "name": "Qualified: assign and call",
    "trigger": "lead.status_changed",
    "conditions": [{"field": "status", "op": "changed_to", "value": "QUALIFIED"}],
    "actions": [
        {"type": "assign", "to": "round_robin"},
        {"type": "create_task", "task_type": "call", "subject": "Call the qualified lead", "due_in_minutes": 60},
    ],
}


async def _quiet(db: asyncpg.Connection) -> bool:
    return not await db.fetchval("SELECT count(*) FROM outbox_event WHERE automated_at IS NULL")


async def test_qualified_leads_are_assigned_round_robin_with_a_task_once_per_event(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    first = await tenants.add_user(admin, "agent")
    second = await tenants.add_user(admin, "agent")
    created = await client.post("/v2/workflows", headers=admin.auth, json=QUALIFIED_RULE)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert created.headers["location"] == f"/v2/workflows/{rule['id']}"
    leads = [await make_lead(client, admin, name=f"Buyer {n}") for n in range(3)]
    for lead in leads:
        moved = await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"status": "QUALIFIED"})
        assert moved.status_code == 200, moved.text
    # A lead that only changes in other ways is left alone.
    await client.patch(f"/v2/leads/{leads[0]['id']}", headers=admin.auth, json={"notes": "still qualified"})
    await eventually(lambda: _quiet(db))

    agents = [await db.fetchval("SELECT agent_id FROM lead WHERE id = $1", lead["id"]) for lead in leads]
    assert agents == [first.user_id, second.user_id, first.user_id]
    tasks = await db.fetch("SELECT lead_id, owner_id, type, source FROM task ORDER BY lead_id")
    assert [(t["lead_id"], t["owner_id"], t["type"], t["source"]) for t in tasks] == [
        (lead["id"], agent, "call", "rule") for lead, agent in zip(leads, agents, strict=True)
    ]
    runs = (await client.get(f"/v2/workflows/{rule['id']}/runs", headers=admin.auth)).json()
    assert runs["total"] == 3 and {r["status"] for r in runs["data"]} == {"done"}
    assert "assigned lead" in runs["data"][0]["detail"] and "task" in runs["data"][0]["detail"]
    assert (await client.get(f"/v2/workflows/{rule['id']}", headers=admin.auth)).json()["runs"] == 3
    # Running the same events again does nothing more (exactly once per rule and event).
    await db.execute("UPDATE outbox_event SET automated_at = NULL")
    await eventually(lambda: _quiet(db))
    assert await db.fetchval("SELECT count(*) FROM task") == 3
    assert await db.fetchval("SELECT count(*) FROM workflow_run WHERE workflow_id = $1", rule["id"]) == 3


async def test_a_rule_does_not_trigger_itself(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    looping = {"name": "Tag every change", "trigger": "lead.updated", "actions": [{"type": "add_tag", "tag": "touched"}]}
    rule = (await client.post("/v2/workflows", headers=admin.auth, json=looping)).json()
    lead = await make_lead(client, admin, name="Loop")
    await client.patch(f"/v2/leads/{lead['id']}", headers=admin.auth, json={"notes": "a change"})
    await eventually(lambda: _quiet(db))
    got = (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).json()
    assert got["custom_fields"]["tags"] == ["touched"]
    statuses = [r["status"] for r in (await client.get(f"/v2/workflows/{rule['id']}/runs", headers=admin.auth)).json()["data"]]
    assert statuses == ["skipped", "done"]  # its own lead.updated was not run again


async def test_bad_rules_roles_and_tenants_are_refused(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    manager = await tenants.add_user(admin, "manager")
    agent = await tenants.add_user(admin, "agent")
    stranger = await tenants.create()
    unknown = await client.post("/v2/workflows", headers=admin.auth, json={**QUALIFIED_RULE, "trigger": "lead.exploded"})
    assert unknown.status_code == 422 and unknown.json()["error"]["details"]["field"] == "trigger"
    incomplete = await client.post("/v2/workflows", headers=admin.auth, json={**QUALIFIED_RULE, "actions": [{"type": "set_status"}]})
    assert incomplete.status_code == 422
    foreign = await client.post(
        "/v2/workflows",
        headers=admin.auth,
        json={**QUALIFIED_RULE, "actions": [{"type": "assign", "to": "user", "user_id": stranger.user_id}]},
    )
    assert foreign.status_code == 422
    assert (await client.post("/v2/workflows", headers=admin.auth, json={**QUALIFIED_RULE, "actions": []})).status_code == 422
    rule = (await client.post("/v2/workflows", headers=admin.auth, json=QUALIFIED_RULE)).json()
    assert (await client.get("/v2/workflows", headers=manager.auth)).status_code == 200
    assert (await client.post("/v2/workflows", headers=manager.auth, json=QUALIFIED_RULE)).status_code == 403
    assert (await client.get("/v2/workflows", headers=agent.auth)).status_code == 403
    assert (await client.get(f"/v2/workflows/{rule['id']}", headers=stranger.auth)).status_code == 404
    assert (await client.patch(f"/v2/workflows/{rule['id']}", headers=stranger.auth, json={"active": False})).status_code == 404
    assert (await client.delete(f"/v2/workflows/{rule['id']}", headers=stranger.auth)).status_code == 404
    assert (await client.delete(f"/v2/workflows/{rule['id']}", headers=admin.auth)).status_code == 204
    assert await db.fetchval("SELECT count(*) FROM workflow WHERE tenant_id = $1", admin.tenant_id) == 1  # the built-in one
