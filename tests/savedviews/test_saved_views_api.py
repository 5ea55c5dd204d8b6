"""Saved views through /v2/saved-views: the same views as the leads list's bar, a person's own and the team's shared
ones, with roles and tenants kept apart."""

from __future__ import annotations

import httpx

from tests.factories import Tenants
from tests.helpers import browser_login


async def test_people_save_list_change_and_delete_their_views(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    colleague = await tenants.add_user(admin, "agent")
    created = await client.post(
        "/v2/saved-views", headers=agent.auth, json={"name": "Hot ones", "query": "temperature=hot&offset=50&agent=any"}
    )
    assert created.status_code == 201, created.text
    view = created.json()
    assert created.headers["location"] == f"/v2/saved-views/{view['id']}"
    assert view["query"] == "temperature=hot&agent=any" and view["screen"] == "leads" and view["mine"] and not view["shared"]
    # The screen shows the same view in the leads list's bar.
    await browser_login(client, agent)
    assert "Hot ones" in (await client.get("/leads")).text
    again = await client.post("/v2/saved-views", headers=agent.auth, json={"name": "Hot ones"})
    assert again.status_code == 422 and again.json()["error"]["details"]["reason"] == "duplicate"
    refused = await client.post("/v2/saved-views", headers=agent.auth, json={"name": "For all", "shared": True})
    assert refused.status_code == 403, "agents keep their views to themselves"
    shared = await client.post(
        "/v2/saved-views", headers=admin.auth, json={"name": "Team: qualified", "query": "status=QUALIFIED", "shared": True}
    )
    assert shared.status_code == 201
    listed = (await client.get("/v2/saved-views?screen=leads", headers=agent.auth)).json()
    assert [v["name"] for v in listed["data"]] == ["Team: qualified", "Hot ones"] and listed["total"] == 2, "shared first"
    assert [v["name"] for v in (await client.get("/v2/saved-views", headers=colleague.auth)).json()["data"]] == ["Team: qualified"]
    assert (await client.get(f"/v2/saved-views/{view['id']}", headers=colleague.auth)).status_code == 404, "someone else's own view"
    assert (await client.patch(f"/v2/saved-views/{shared.json()['id']}", headers=agent.auth, json={"name": "Mine now"})).status_code == 403
    renamed = await client.patch(f"/v2/saved-views/{view['id']}", headers=agent.auth, json={"name": "Hottest", "query": "temperature=hot"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Hottest" and renamed.json()["query"] == "temperature=hot"
    bad = await client.patch(f"/v2/saved-views/{view['id']}", headers=agent.auth, json={"name": ""})
    assert bad.status_code == 422
    assert (await client.delete(f"/v2/saved-views/{view['id']}", headers=colleague.auth)).status_code == 404
    assert (await client.delete(f"/v2/saved-views/{view['id']}", headers=agent.auth)).status_code == 204
    assert (await client.get(f"/v2/saved-views/{view['id']}", headers=agent.auth)).status_code == 404


async def test_other_tenants_and_integrations(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    stranger = await tenants.create()
    view = (await client.post("/v2/saved-views", headers=admin.auth, json={"name": "Shared", "shared": True})).json()
    assert (await client.get(f"/v2/saved-views/{view['id']}", headers=stranger.auth)).status_code == 404
    assert (await client.delete(f"/v2/saved-views/{view['id']}", headers=stranger.auth)).status_code == 404
    assert (await client.get("/v2/saved-views", headers=stranger.auth)).json()["total"] == 0
    _, key = await tenants.api_key(admin, "write")
    integration = {"X-API-Key": key}
    assert [v["name"] for v in (await client.get("/v2/saved-views", headers=integration)).json()["data"]] == ["Shared"]
    assert (await client.post("/v2/saved-views", headers=integration, json={"name": "Bot's"})).status_code == 403, "views are people's"
