"""Hostile input gets a clear 4xx in the envelope and changes nothing (issue #9's list)."""

from __future__ import annotations

import asyncpg
import httpx

from tests.factories import Tenants
from tests.helpers import browser_login, csrf_of


async def test_odd_bodies_are_refused_clearly(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    headers = {**admin.auth, "Content-Type": "application/json"}
    deep = await client.post("/v2/leads", headers=headers, content=b"[" * 1000 + b"]" * 1000)
    assert deep.status_code == 400 and deep.json()["error"]["code"] == "BAD_REQUEST"
    deep_field = await client.post("/v2/leads", headers=headers, content=b'{"name":' + b'{"a":' * 1000 + b"1" + b"}" * 1001)
    assert deep_field.status_code == 400
    not_utf8 = await client.post("/v2/leads", headers=headers, content=b'{"name":"\xff\xfe"}')
    assert not_utf8.status_code == 400 and "UTF-8" in not_utf8.json()["error"]["message"]
    plain = await client.post("/v2/leads", headers={**admin.auth, "Content-Type": "text/plain"}, content=b'{"name":"Plain"}')
    assert plain.status_code == 415 and plain.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    year_zero = await client.post("/v2/leads", headers=admin.auth, json={"name": "Old", "last_interaction": "0001-01-01T00:00:00+14:00"})
    assert year_zero.status_code == 422 and year_zero.json()["error"]["code"] == "VALIDATION_ERROR"
    assert await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1", admin.tenant_id) == 0, "nothing was created"
    assert (await client.post("/v2/leads", headers=admin.auth, json={"name": "Fine"})).status_code == 201


async def test_a_plain_patch_of_a_team_member_answers_a_page_not_a_500(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    await browser_login(client, admin)
    token = csrf_of((await client.get("/settings/team")).text)
    plain = await client.patch(f"/settings/team/{agent.user_id}", data={"role": "manager", "_csrf_token": token})
    assert plain.status_code == 303 and plain.headers["location"] == "/settings/team"
    assert (await client.get(f"/v2/users/{agent.user_id}", headers=admin.auth)).json()["role"] == "manager"
