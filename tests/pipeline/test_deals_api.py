"""Pipelines, deals and the board through /v2: positions, WIP limits, watchers, events, tenancy and roles (issue #11)."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from typing import Any

import asyncpg
import httpx

from tests.factories import Account, Tenants, make_lead


async def board(client: httpx.AsyncClient, who: Account, **params: Any) -> dict[str, Any]:
    response = await client.get("/v2/kanban/board", headers=who.auth, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return dict(body["data"])


async def new_deal(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v2/deals", headers=who.auth, json={"title": "Deal", **fields})
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v2/deals/{response.json()['id']}"
    return dict(response.json())


async def positions(db: asyncpg.Connection, tenant_id: int) -> dict[int, list[int]]:
    """Each stage's open deals by rank: their ids (the order every answer must follow)."""
    rows = await db.fetch(
        "SELECT stage_id, array_agg(id ORDER BY rank) AS ids FROM deal WHERE tenant_id = $1 AND status = 'open' GROUP BY stage_id",
        tenant_id,
    )
    return {r["stage_id"]: list(r["ids"]) for r in rows}


async def test_a_new_tenant_has_the_default_pipeline_and_its_board(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    pipelines = (await client.get("/v2/pipelines", headers=admin.auth)).json()
    assert [p["name"] for p in pipelines] == ["Sales"] and pipelines[0]["is_default"]
    stages = pipelines[0]["stages"]
    assert [s["name"] for s in stages][:3] == ["New enquiry", "Qualified", "Viewing"] and len(stages) == 7
    assert [s["order"] for s in stages] == list(range(1, 8))
    shown = await board(client, admin)
    assert shown["pipeline_id"] == pipelines[0]["id"]
    column = shown["stages"][0]
    assert (column["id"], column["order"], column["wip_limit"], column["deals"], column["count"]) == (stages[0]["id"], 1, None, [], 0)


async def test_deals_are_created_listed_and_refused_clearly(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    first = await new_deal(client, admin, title="Marina villa", value="2500000.50", currency="AED")
    assert first["value"] == 2500000.5 and first["status"] == "open" and first["position"] == 1
    assert first["stage_name"] == "New enquiry" and first["probability"] == 10
    second = await new_deal(client, admin, title="Downtown flat", value=900000)
    assert second["position"] == 2
    for body, field in (
        ({"title": "x", "value": -1}, "value"),
        ({"title": "x", "stage_id": 10**9}, "stage_id"),
        ({"title": " "}, "title"),
        ({"title": "x", "owner_id": 10**9}, "owner_id"),
        ({"title": "x", "colour": "red"}, "colour"),
        ({"title": "x", "value": "1.005"}, "value"),
    ):
        refused = await client.post("/v2/deals", headers=admin.auth, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["error"]["details"]["field"] == field
    listed = (await client.get("/v2/deals", headers=admin.auth, params={"sort": "value", "value_min": 100})).json()
    assert [d["title"] for d in listed["data"]] == ["Downtown flat", "Marina villa"] and listed["total"] == 2
    assert (await client.get("/v2/deals", headers=admin.auth, params={"q": "marina"})).json()["total"] == 1
    for tiny in ("1e-200000", "-1", "1.001"):  # no 500 for an amount PostgreSQL could not take
        assert (await client.get("/v2/deals", headers=admin.auth, params={"value_min": tiny})).status_code == 422, tiny
        assert (await client.get("/v2/kanban/board", headers=admin.auth, params={"value_max": tiny})).status_code == 422, tiny
    lost = await client.patch(f"/v2/deals/{second['id']}", headers=admin.auth, json={"status": "lost"})
    assert lost.status_code == 422 and lost.json()["error"]["details"]["field"] == "lost_reason"
    closed = await client.patch(f"/v2/deals/{first['id']}", headers=admin.auth, json={"status": "lost", "lost_reason": "Bought elsewhere"})
    assert closed.status_code == 200 and closed.json()["position"] is None and closed.json()["closed_at"]
    assert (await client.get(f"/v2/deals/{second['id']}", headers=admin.auth)).json()["position"] == 1, "the stage closed up"


async def test_moves_keep_positions_dense_and_wip_limits_hold(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    manager = await tenants.add_user(admin, "manager")
    agent = await tenants.add_user(admin, "agent")
    stages = (await board(client, admin))["stages"]
    a, b = stages[0]["id"], stages[1]["id"]
    deals = [await new_deal(client, admin, title=f"D{n}") for n in range(4)]
    assert (await client.patch(f"/v2/stages/{b}", headers=admin.auth, json={"wip_limit": 2})).json()["wip_limit"] == 2

    moved = await client.put(f"/v2/kanban/deals/{deals[3]['id']}/move", headers=admin.auth, json={"stage_id": a, "position": 1})
    assert moved.status_code == 200 and moved.json()["position"] == 1
    column = (await board(client, admin))["stages"][0]["deals"]
    assert [d["title"] for d in column] == ["D3", "D0", "D1", "D2"] and [d["position"] for d in column] == [1, 2, 3, 4]

    for deal in deals[:2]:
        response = await client.put(f"/v2/kanban/deals/{deal['id']}/move", headers=admin.auth, json={"stage_id": b, "position": 9})
        assert response.status_code == 200
    full = await client.put(f"/v2/kanban/deals/{deals[2]['id']}/move", headers=admin.auth, json={"stage_id": b, "position": 1})
    assert full.status_code == 409
    error = full.json()["error"]
    assert error["code"] == "WIP_LIMIT_REACHED" and error["details"]["wip_limit"] == 2 and "2" in error["message"]
    refused = await client.put(
        f"/v2/kanban/deals/{deals[2]['id']}/move", headers=agent.auth, json={"stage_id": b, "position": 1, "override": True}
    )
    assert refused.status_code == 403, "agents cannot go past a limit"
    forced = await client.put(
        f"/v2/kanban/deals/{deals[2]['id']}/move", headers=manager.auth, json={"stage_id": b, "position": 1, "override": True}
    )
    assert forced.status_code == 200 and forced.json()["position"] == 1
    timeline = (await client.get(f"/v2/deals/{deals[2]['id']}/activities", headers=admin.auth)).json()["data"]
    assert any("WIP limit" in (entry["summary"] or "") for entry in timeline)
    assert await positions(db, admin.tenant_id) == {a: [deals[3]["id"]], b: [deals[2]["id"], deals[0]["id"], deals[1]["id"]]}
    won = await client.patch(f"/v2/deals/{deals[0]['id']}", headers=admin.auth, json={"status": "won"})
    assert won.status_code == 200
    assert await positions(db, admin.tenant_id) == {a: [deals[3]["id"]], b: [deals[2]["id"], deals[1]["id"]]}
    closed = await client.put(f"/v2/kanban/deals/{deals[0]['id']}/move", headers=admin.auth, json={"stage_id": a, "position": 1})
    assert closed.status_code == 409, "a closed deal is not on the board"


async def test_fifty_concurrent_moves_leave_every_stage_dense(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    stages = [s["id"] for s in (await board(client, admin))["stages"]][:4]
    deals = [(await new_deal(client, admin, title=f"C{n}"))["id"] for n in range(20)]
    rng = random.Random(11)

    async def move() -> int:
        response = await client.put(
            f"/v2/kanban/deals/{rng.choice(deals)}/move",
            headers=admin.auth,
            json={"stage_id": rng.choice(stages), "position": rng.randint(1, 8)},
        )
        return response.status_code

    statuses = await asyncio.gather(*(move() for _ in range(50)))
    assert set(statuses) == {200}, statuses
    found = await positions(db, admin.tenant_id)
    assert sum(len(ids) for ids in found.values()) == 20
    shown = (await board(client, admin, per_stage=100))["stages"]
    for stage in shown:
        assert [d["position"] for d in stage["deals"]] == list(range(1, stage["count"] + 1)), stage["name"]
        assert [d["id"] for d in stage["deals"]] == found.get(stage["id"], []), "the board follows the ranks"
    for deal_id in deals:
        one = (await client.get(f"/v2/deals/{deal_id}", headers=admin.auth)).json()
        assert found[one["stage_id"]].index(deal_id) + 1 == one["position"]


async def test_a_stage_with_no_room_between_two_cards_is_renumbered(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    deals = [(await new_deal(client, admin, title=f"R{n}"))["id"] for n in range(4)]
    await db.execute("UPDATE deal SET rank = id - $2 WHERE tenant_id = $1", admin.tenant_id, deals[0])  # 0, 1, 2, 3: no room
    stage = (await client.get(f"/v2/deals/{deals[3]}", headers=admin.auth)).json()["stage_id"]
    moved = await client.put(f"/v2/kanban/deals/{deals[3]}/move", headers=admin.auth, json={"stage_id": stage, "position": 2})
    assert moved.status_code == 200 and moved.json()["position"] == 2
    assert (await positions(db, admin.tenant_id))[stage] == [deals[0], deals[3], deals[1], deals[2]]
    ranks = [r["rank"] for r in await db.fetch("SELECT rank FROM deal WHERE tenant_id = $1 ORDER BY rank", admin.tenant_id)]
    assert all(b - a >= 2 for a, b in itertools.pairwise(ranks)), ranks


async def test_changes_publish_events_and_tell_watchers(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    stages = (await board(client, admin))["stages"]
    deal = await new_deal(client, admin, title="Palm penthouse", value=7000000)
    watched = await client.post(f"/v2/deals/{deal['id']}/watchers", headers=admin.auth, json={"user_id": agent.user_id})
    assert watched.status_code == 201 and watched.json()["watchers"] == [agent.user_id]
    moved = await client.put(f"/v2/kanban/deals/{deal['id']}/move", headers=admin.auth, json={"stage_id": stages[3]["id"]})
    assert moved.status_code == 200
    await client.patch(f"/v2/deals/{deal['id']}", headers=admin.auth, json={"status": "won"})
    events = await db.fetch(
        "SELECT event_type, data FROM outbox_event WHERE tenant_id = $1 AND event_type LIKE 'deal.%' ORDER BY id", admin.tenant_id
    )
    kinds = [e["event_type"] for e in events]
    assert kinds == ["deal.created", "deal.watcher_added", "deal.updated", "deal.updated", "deal.won"], kinds
    stage_move = json.loads(events[2]["data"])
    assert stage_move["old_stage"] == "New enquiry" and stage_move["new_stage"] == stages[3]["name"]
    assert stage_move["changed_by"] == admin.user_id and stage_move["deal_id"] == deal["id"]
    assert stage_move["organization_id"] == admin.tenant_id, "as the guide's §8.1 payload"
    told = await db.fetch(
        "SELECT message FROM notification WHERE tenant_id = $1 AND user_id = $2 ORDER BY id", admin.tenant_id, agent.user_id
    )
    assert len(told) == 3 and "Won" in told[-1]["message"], told
    gone = await client.delete(f"/v2/deals/{deal['id']}/watchers/{agent.user_id}", headers=agent.auth)
    assert gone.status_code == 204


async def test_a_lead_converts_to_a_linked_deal_once(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Omar Haddad", phone="+971501112299", budget_max=3200000, property_type="VILLA")
    converted = await client.post(f"/v2/leads/{lead['id']}/convert", headers=admin.auth, json={})
    assert converted.status_code == 201, converted.text
    deal = converted.json()
    assert deal["lead_id"] == lead["id"] and deal["value"] == 3200000 and "Omar Haddad" in deal["title"]
    assert (await client.get(f"/v2/leads/{lead['id']}", headers=admin.auth)).json()["status"] == "NEGOTIATING"
    again = await client.post(f"/v2/leads/{lead['id']}/convert", headers=admin.auth, json={})
    assert again.status_code == 409 and again.json()["error"]["details"]["existing_deal_id"] == deal["id"]
    assert (await client.get("/v2/deals", headers=admin.auth, params={"lead_id": lead["id"]})).json()["total"] == 1


async def test_stages_with_deals_need_somewhere_for_them(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    pipeline = (await client.get("/v2/pipelines", headers=admin.auth)).json()[0]
    first, second = pipeline["stages"][0]["id"], pipeline["stages"][1]["id"]
    moved = [(await new_deal(client, admin, title=f"S{n}", stage_id=second))["id"] for n in range(2)]
    staying = (await new_deal(client, admin, title="F0", stage_id=first))["id"]
    refused = await client.delete(f"/v2/stages/{second}", headers=admin.auth)
    assert refused.status_code == 409 and refused.json()["error"]["details"]["deals"] == 2
    assert (await client.delete(f"/v2/stages/{second}", headers=admin.auth, params={"move_deals_to": second})).status_code == 422
    assert (await client.delete(f"/v2/stages/{second}", headers=admin.auth, params={"move_deals_to": first})).status_code == 204
    assert await positions(db, admin.tenant_id) == {first: [staying, *moved]}, "after the stage's own, in their order"
    after = (await client.get(f"/v2/pipelines/{pipeline['id']}", headers=admin.auth)).json()["stages"]
    assert [s["order"] for s in after] == list(range(1, 7))
    added = await client.post(
        f"/v2/pipelines/{pipeline['id']}/stages", headers=admin.auth, json={"name": "Handover", "order": 2, "wip_limit": 5}
    )
    assert added.status_code == 201 and added.json()["order"] == 2
    stages = [{"name": "Enquiry"}, {"name": "Lease signed", "probability": 90}]
    made = await client.post("/v2/pipelines", headers=admin.auth, json={"name": "Rentals", "stages": stages})
    assert made.status_code == 201 and [s["order"] for s in made.json()["stages"]] == [1, 2]
    assert (await client.delete(f"/v2/pipelines/{pipeline['id']}", headers=admin.auth)).status_code == 409, "the default stays"


async def test_another_tenant_and_wrong_roles_are_refused(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin, other = await tenants.create(), await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    support = await tenants.add_user(admin, "support")
    finance = await tenants.add_user(admin, "finance")
    deal = await new_deal(client, admin, title="Theirs", owner_id=admin.user_id)
    mine = await new_deal(client, agent, title="Mine")
    assert mine["owner_id"] == agent.user_id, "an agent's new deal is theirs"
    stage = (await board(client, admin))["stages"][1]["id"]
    for method, url, body in (
        ("GET", f"/v2/deals/{deal['id']}", None),
        ("PATCH", f"/v2/deals/{deal['id']}", {"title": "x"}),
        ("PUT", f"/v2/kanban/deals/{deal['id']}/move", {"stage_id": stage}),
        ("POST", f"/v2/deals/{deal['id']}/watchers", {"user_id": other.user_id}),
        ("GET", f"/v2/deals/{deal['id']}/activities", None),
        ("GET", f"/v2/stages/{stage}", None),
        ("PATCH", f"/v2/stages/{stage}", {"name": "x"}),
        ("DELETE", f"/v2/deals/{deal['id']}", None),
    ):
        response = await client.request(method, url, headers=other.auth, json=body)
        assert response.status_code == 404, (method, url, response.text)
    moved = await client.put(f"/v2/kanban/deals/{mine['id']}/move", headers=other.auth, json={"stage_id": stage})
    assert moved.status_code == 404
    theirs = (await board(client, other))["stages"][0]["id"]
    cross = await client.put(f"/v2/kanban/deals/{deal['id']}/move", headers=admin.auth, json={"stage_id": theirs})
    assert cross.status_code == 422 and cross.json()["error"]["details"]["field"] == "stage_id"
    assert (await client.put(f"/v2/kanban/deals/{deal['id']}/move", headers=agent.auth, json={"stage_id": stage})).status_code == 403
    assert (await client.put(f"/v2/kanban/deals/{mine['id']}/move", headers=agent.auth, json={"stage_id": stage})).status_code == 200
    assert (await client.patch(f"/v2/deals/{mine['id']}", headers=agent.auth, json={"owner_id": admin.user_id})).status_code == 403
    assert (await client.post("/v2/pipelines", headers=agent.auth, json={"name": "Mine", "stages": [{"name": "A"}]})).status_code == 403
    assert (await client.delete(f"/v2/deals/{mine['id']}", headers=agent.auth)).status_code == 403
    for reader in (support, finance):
        assert (await client.get("/v2/kanban/board", headers=reader.auth)).status_code == 200
        assert (await client.post("/v2/deals", headers=reader.auth, json={"title": "x"})).status_code == 403
        assert (await client.put(f"/v2/kanban/deals/{deal['id']}/move", headers=reader.auth, json={"stage_id": stage})).status_code == 403
    _, read_key = await tenants.api_key(admin, "read")
    assert (await client.get("/v2/kanban/board", headers={"X-API-Key": read_key})).status_code == 200
    assert (await client.post("/v2/deals", headers={"X-API-Key": read_key}, json={"title": "x"})).status_code == 403
