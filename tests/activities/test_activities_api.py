"""Activities (tasks and follow-ups) through the JSON API: CRUD and filters, timeline entries and events on the linked
record, score recommendations as one-click tasks, the one-move call outcome through the call log, the built-in
`lead.hot` rule; roles and tenants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from tests.factories import Account, Tenants, make_lead
from tests.helpers import eventually

HOT = {"budget_max": 9000000, "phone": "+971501234567", "email": "fatima@example.com", "property_type": "VILLA",
       "transaction_type": "BUY", "purpose": "RESIDENCY", "preferred_location": "Palm Jumeirah", "bedrooms_min": 4,
       "urgency_score": 10}  # fmt: skip


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def plan(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v2/activities", headers=who.auth, json={"subject": "Call back", **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_task_is_planned_listed_by_filters_changed_and_done_with_its_leads_timeline(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    lead = await make_lead(client, admin, name="Omar Haddad", phone="+971501112233", agent_id=agent.user_id)
    now = datetime.now(UTC)
    created = await client.post(
        "/v2/activities",
        headers=agent.auth,
        json={"type": "call", "subject": "Call about the villa", "due_at": iso(now - timedelta(hours=1)), "duration_minutes": 15,
              "lead_id": lead["id"]},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    task = created.json()
    assert created.headers["location"] == f"/v2/activities/{task['id']}"
    assert (task["owner_id"], task["type"], task["done"], task["overdue"], task["lead_name"], task["source"]) == (
        agent.user_id, "call", False, True, "Omar Haddad", "manual"
    )  # fmt: skip
    later = await plan(client, agent, type="email", due_at=iso(now + timedelta(days=2)), lead_id=lead["id"])
    await plan(client, admin, type="todo", subject="Admin's own")

    def ids(response: httpx.Response) -> list[int]:
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["data"]]

    assert ids(await client.get("/v2/activities?overdue=true", headers=agent.auth)) == [task["id"]]
    assert ids(await client.get("/v2/activities?type=email", headers=agent.auth)) == [later["id"]]
    assert ids(await client.get(f"/v2/activities?lead_id={lead['id']}&sort=-due_at", headers=agent.auth)) == [later["id"], task["id"]]
    window = f"due_after={iso(now)}&due_before={iso(now + timedelta(days=3))}".replace("+", "%2B")
    assert ids(await client.get(f"/v2/activities?{window}", headers=agent.auth)) == [later["id"]]
    # The agent sees their own tasks only; the admin sees the team's.
    assert len(ids(await client.get("/v2/activities", headers=agent.auth))) == 2
    assert len(ids(await client.get(f"/v2/activities?owner_id={agent.user_id}", headers=admin.auth))) == 2

    got = await client.get(f"/v2/activities/{task['id']}", headers=agent.auth)
    stale = got.headers["etag"]
    done = await client.patch(
        f"/v2/activities/{task['id']}", headers={**agent.auth, "If-Match": stale}, json={"done": True, "outcome": "connected"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["done"] and done.json()["done_at"] and not done.json()["overdue"]
    refused = await client.patch(f"/v2/activities/{task['id']}", headers={**agent.auth, "If-Match": stale}, json={"notes": "x"})
    assert refused.status_code == 412
    assert ids(await client.get("/v2/activities?done=true", headers=agent.auth)) == [task["id"]]

    timeline = await client.get(f"/v2/leads/{lead['id']}/timeline", headers=admin.auth)
    kinds = [e["kind"] for e in timeline.json()["data"]]
    assert "task_planned" in kinds and "task_done" in kinds
    events = [r["event_type"] for r in await db.fetch("SELECT event_type FROM outbox_event WHERE subject_type = 'task' ORDER BY id")]
    assert events == ["activity.created", "activity.created", "activity.created", "activity.updated", "activity.completed"]

    assert (await client.delete(f"/v2/activities/{later['id']}", headers=agent.auth)).status_code == 204
    assert (await client.get(f"/v2/activities/{later['id']}", headers=agent.auth)).status_code == 404


async def test_bad_input_roles_and_tenants_are_refused(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    other_agent = await tenants.add_user(admin, "agent")
    finance = await tenants.add_user(admin, "finance")
    stranger = await tenants.create()
    mine = await plan(client, agent)
    colleague = await plan(client, other_agent)

    bad = await client.post("/v2/activities", headers=agent.auth, json={"subject": "", "type": "fax"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    foreign_lead = await make_lead(client, stranger)
    unknown = await client.post("/v2/activities", headers=agent.auth, json={"subject": "x", "lead_id": foreign_lead["id"]})
    assert unknown.status_code == 422 and unknown.json()["error"]["details"]["field"] == "lead_id"
    # Agents give tasks only to themselves; admins to anyone.
    gift = await client.post("/v2/activities", headers=agent.auth, json={"subject": "x", "owner_id": other_agent.user_id})
    assert gift.status_code == 403
    assert (await client.post("/v2/activities", headers=admin.auth, json={"subject": "x", "owner_id": agent.user_id})).status_code == 201
    # A colleague's task and another tenant's are not found; finance has no tasks at all.
    assert (await client.get(f"/v2/activities/{colleague['id']}", headers=agent.auth)).status_code == 404
    assert (await client.patch(f"/v2/activities/{colleague['id']}", headers=agent.auth, json={"done": True})).status_code == 404
    assert (await client.get(f"/v2/activities/{mine['id']}", headers=stranger.auth)).status_code == 404
    assert (await client.delete(f"/v2/activities/{mine['id']}", headers=stranger.auth)).status_code == 404
    assert (await client.get("/v2/activities", headers=finance.auth)).status_code == 403
    assert (await client.post("/v2/activities", headers=finance.auth, json={"subject": "x"})).status_code == 403
    assert (await client.get("/v2/activities", headers=stranger.auth)).json()["total"] == 0
    assert await db.fetchval("SELECT count(*) FROM task") == 3


async def test_a_score_recommendation_becomes_a_task_in_one_click_once(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    # With the built-in hot-lead rule off, nothing plans the call but the click.
    rule = (await client.get("/v2/workflows", headers=admin.auth)).json()["data"][0]
    off = await client.patch(f"/v2/workflows/{rule['id']}", headers=admin.auth, json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    lead = await make_lead(client, admin, name="Fatima Al-Mansoori", agent_id=agent.user_id, **HOT)
    scored = await client.post(f"/v2/leads/{lead['id']}/score", headers=admin.auth)
    recommendation = scored.json()["data"]["recommendations"][0] if "data" in scored.json() else scored.json()["recommendations"][0]
    assert recommendation == "Call within 15 minutes"
    made = await client.post(
        "/v2/activities/from-recommendation", headers=admin.auth, json={"lead_id": lead["id"], "recommendation": recommendation}
    )
    assert made.status_code == 201, made.text
    task = made.json()
    assert (task["type"], task["owner_id"], task["source"], task["subject"]) == (
        "call", agent.user_id, "recommendation", "Call within 15 minutes: Fatima Al-Mansoori"
    )  # fmt: skip
    due = datetime.fromisoformat(task["due_at"])
    assert timedelta(minutes=14) < due - datetime.now(UTC) <= timedelta(minutes=15)
    again = await client.post(
        "/v2/activities/from-recommendation", headers=admin.auth, json={"lead_id": lead["id"], "recommendation": recommendation}
    )
    assert again.json()["id"] == task["id"]


async def test_logging_the_outcome_records_the_call_completes_the_task_and_plans_the_next(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    lead = await make_lead(client, admin, name="Ali Hassan", phone="+971507654321", agent_id=agent.user_id)
    task = await plan(client, agent, type="call", subject="First call", lead_id=lead["id"], due_at=iso(datetime.now(UTC)))
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    bad = await client.post(f"/v2/activities/{task['id']}/outcome", headers=agent.auth, json={"outcome": ""})
    assert bad.status_code == 422
    assert await db.fetchval("SELECT count(*) FROM call") == 0
    logged = await client.post(
        f"/v2/activities/{task['id']}/outcome",
        headers=agent.auth,
        json={
            "outcome": "interested",
            "notes": "Wants a viewing on Saturday",
            "next_type": "viewing",
            "next_subject": "Viewing at the Palm",
            "next_due_at": iso(tomorrow),
        },
    )
    assert logged.status_code == 200, logged.text
    body = logged.json()
    assert body["activity"]["done"] and body["activity"]["outcome"] == "interested"
    assert body["activity"]["call_id"] == body["call_id"]
    assert (body["next_activity"]["type"], body["next_activity"]["lead_id"], body["next_activity"]["owner_id"]) == (
        "viewing",
        lead["id"],
        agent.user_id,
    )
    call = await client.get(f"/v2/calls/{body['call_id']}", headers=admin.auth)
    assert (call.json()["status"], call.json()["disposition"], call.json()["lead_id"], call.json()["agent_id"]) == (
        "completed", "interested", lead["id"], agent.user_id
    )  # fmt: skip
    assert "Wants a viewing" in call.json()["notes"]
    # Nobody answered: the call is logged as failed.
    second = await plan(client, agent, type="call", subject="Second call", lead_id=lead["id"])
    missed = await client.post(f"/v2/activities/{second['id']}/outcome", headers=agent.auth, json={"outcome": "no_answer"})
    assert (await client.get(f"/v2/calls/{missed.json()['call_id']}", headers=admin.auth)).json()["status"] == "failed"
    assert missed.json()["next_activity"] is None


async def test_a_hot_lead_gets_a_due_now_call_task_for_its_agent_once(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    rules = await client.get("/v2/workflows", headers=admin.auth)
    assert [(r["builtin"], r["trigger"], r["active"]) for r in rules.json()["data"]] == [("hot_lead_call", "lead.hot", True)]
    lead = await make_lead(client, admin, name="Fatima Al-Mansoori", agent_id=agent.user_id, **HOT)
    assert lead["temperature"] == "hot"

    async def task_made() -> bool:
        return bool(await db.fetchval("SELECT count(*) FROM task WHERE lead_id = $1", lead["id"]))

    await eventually(task_made)
    tasks = (await client.get("/v2/activities", headers=agent.auth)).json()["data"]
    assert [(t["type"], t["owner_id"], t["source"], t["subject"]) for t in tasks] == [
        ("call", agent.user_id, "rule", "Call within 15 minutes: Fatima Al-Mansoori")
    ]
    assert abs(datetime.fromisoformat(tasks[0]["due_at"]) - datetime.now(UTC)) < timedelta(minutes=1)
    runs = (await client.get("/v2/workflows/runs", headers=admin.auth)).json()["data"]
    assert [(r["event_type"], r["status"]) for r in runs] == [("lead.hot", "done")]
    # Every event is taken once: no second task appears.
    await eventually(lambda: _all_automated(db))
    assert await db.fetchval("SELECT count(*) FROM task WHERE lead_id = $1", lead["id"]) == 1


async def _all_automated(db: asyncpg.Connection) -> bool:
    return not await db.fetchval("SELECT count(*) FROM outbox_event WHERE automated_at IS NULL")
