"""Every endpoint refuses a second tenant (404 or absent) and a wrong role (403)."""

from __future__ import annotations

import httpx

from tests.factories import PASSWORD, Tenants
from tests.helpers import browser_login, csrf_of


async def test_user_endpoints_refuse_wrong_roles(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    manager = await tenants.add_user(admin, "manager")
    assert (await client.get(f"/v2/users/{admin.user_id}", headers=agent.auth)).status_code == 403
    assert (await client.patch(f"/v2/users/{agent.user_id}", headers=manager.auth, json={"role": "admin"})).status_code == 403
    assert (await client.patch(f"/v2/users/{agent.user_id}", headers=agent.auth, json={"role": "admin"})).status_code == 403
    assert (await client.get("/v2/auth/me", headers=agent.auth)).json()["role"] == "agent", "nothing changed"


async def test_me_and_logout_are_for_users_not_integrations(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    _, key = await tenants.api_key(admin, "write")
    assert (await client.get("/v2/auth/me", headers={"X-API-Key": key})).status_code == 403
    assert (await client.post("/v2/auth/logout", headers={"X-API-Key": key})).status_code == 403


async def test_oauth_clients_are_admin_only_and_per_tenant(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a = await tenants.create()
    b = await tenants.create()
    b_client = (await client.post("/v2/oauth-clients", headers=b.auth, json={"name": "B"})).json()
    agent = await tenants.add_user(a, "agent")
    assert (await client.get("/v2/oauth-clients", headers=agent.auth)).status_code == 403
    assert (await client.post("/v2/oauth-clients", headers=agent.auth, json={"name": "x"})).status_code == 403
    assert (await client.delete(f"/v2/oauth-clients/{b_client['id']}", headers=agent.auth)).status_code == 403
    assert (await client.get("/v2/oauth-clients", headers=a.auth)).json() == []
    assert (await client.delete(f"/v2/oauth-clients/{b_client['id']}", headers=a.auth)).status_code == 404
    assert (await client.get("/v2/oauth-clients", headers=b.auth)).json()[0]["revoked_at"] is None
    assert "client_secret" not in (await client.get("/v2/oauth-clients", headers=b.auth)).json()[0]


async def test_audit_log_is_per_tenant_and_records_security_events(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a = await tenants.create()
    b = await tenants.create()
    await tenants.api_key(b, "read")
    agent = await tenants.add_user(a, "agent")
    await tenants.login(agent.email)
    await client.patch(f"/v2/users/{agent.user_id}", headers=a.auth, json={"role": "support"})
    key_id, _ = await tenants.api_key(a, "read")
    await client.delete(f"/v2/api-keys/{key_id}", headers=a.auth)
    entries = (await client.get("/v2/audit-log?limit=100", headers=a.auth)).json()
    actions = [e["action"] for e in entries["data"]]
    expected_actions = (
        "tenant.registered",
        "user.invited",
        "user.joined",
        "auth.login",
        "user.role_changed",
        "api_key.created",
        "api_key.revoked",
    )
    for expected in expected_actions:
        assert expected in actions, expected
    assert entries["data"][0]["action"] == "api_key.revoked", "newest first"
    assert all(e["actor"] != b.email for e in entries["data"])
    role_change = next(e for e in entries["data"] if e["action"] == "user.role_changed")
    assert role_change["details"] == {"from": "agent", "to": "support"} and role_change["ip"] == "127.0.0.1"
    only = (await client.get("/v2/audit-log?action=api_key.created", headers=a.auth)).json()
    assert only["total"] == 1


async def test_ui_row_actions_on_another_tenants_ids_are_404(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a = await tenants.create()
    b = await tenants.create()
    b_agent = await tenants.add_user(b, "agent")
    b_key_id, b_key = await tenants.api_key(b, "read")
    await browser_login(client, a)
    token = csrf_of((await client.get("/settings/team")).text)
    headers = {"HX-Request": "true", "x-csrf-token": token}
    assert (await client.patch(f"/settings/team/{b_agent.user_id}", data={"role": "admin"}, headers=headers)).status_code == 404
    assert (await client.post(f"/settings/api-keys/{b_key_id}/revoke", headers=headers)).status_code == 404
    assert (await client.get("/v2/users", headers={"X-API-Key": b_key})).status_code == 200, "B's key still works"
    assert (await tenants.login(b_agent.email, PASSWORD)).role == "agent", "B's agent unchanged"
