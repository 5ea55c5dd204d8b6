"""API keys and OAuth clients: shown once, hashed, scoped, revocable, tenant-bound."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from tests.factories import Tenants


async def test_api_key_is_shown_once_and_stored_hashed(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    key_id, key = await tenants.api_key(admin, "read")
    assert key.startswith("atr_live_")
    listed = (await client.get("/v2/api-keys", headers=admin.auth)).json()
    assert listed["total"] == 1 and "key" not in listed["data"][0]
    assert key.startswith(listed["data"][0]["prefix"])
    stored = await db.fetchrow("SELECT prefix, key_hash FROM api_key WHERE id = $1", key_id)
    assert stored["key_hash"].startswith("$argon2id$") and key not in stored["key_hash"]
    _, test_key = await tenants.api_key(admin, "read", mode="test")
    assert test_key.startswith("atr_test_")


async def test_reference_style_api_key_call_with_tenant_header(client: httpx.AsyncClient, tenants: Tenants) -> None:
    """`X-API-Key` + `X-Tenant-ID` as in the ArtinSmartRealty guide §1.2; last use is recorded."""
    admin = await tenants.create()
    _, key = await tenants.api_key(admin, "read")
    ok = await client.get("/v2/users", headers={"X-API-Key": key, "X-Tenant-ID": str(admin.tenant_id)})
    assert ok.status_code == 200
    assert ok.json()["data"][0]["email"] == admin.email
    keys = (await client.get("/v2/api-keys", headers=admin.auth)).json()["data"]
    assert keys[0]["last_used_at"] is not None
    wrong_tenant = await client.get("/v2/users", headers={"X-API-Key": key, "X-Tenant-ID": str(admin.tenant_id + 1000)})
    assert wrong_tenant.status_code == 403
    assert wrong_tenant.json()["error"]["code"] == "INSUFFICIENT_PERMISSIONS"


async def test_read_only_key_is_refused_on_post_but_a_write_key_is_not(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    _, read_key = await tenants.api_key(admin, "read")
    _, write_key = await tenants.api_key(admin, "write")
    body = {"email": "new@example.com", "password": "long enough pw", "full_name": "New", "role": "agent"}
    refused = await client.post("/v2/users", headers={"X-API-Key": read_key}, json=body)
    assert refused.status_code == 403
    assert "read-only" in refused.json()["error"]["message"]
    # A write key passes the read-only check; creating users is still an admin's job.
    write = await client.post("/v2/users", headers={"X-API-Key": write_key}, json=body)
    assert write.status_code == 403 and "read-only" not in write.json()["error"]["message"]


async def test_revoked_and_unknown_keys_are_refused(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    key_id, key = await tenants.api_key(admin, "read")
    assert (await client.get("/v2/users", headers={"X-API-Key": key})).status_code == 200
    revoked = await client.delete(f"/v2/api-keys/{key_id}", headers=admin.auth)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    after = await client.get("/v2/users", headers={"X-API-Key": key})
    assert after.status_code == 401 and after.json()["error"]["code"] == "AUTHENTICATION_ERROR"
    for bogus in ("atr_live_nothinghere0000000000000000000000000000", "sk_live_abc", key[:-1] + ("x" if key[-1] != "x" else "y")):
        assert (await client.get("/v2/users", headers={"X-API-Key": bogus})).status_code == 401


async def test_only_admins_manage_keys(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    key_id, key = await tenants.api_key(admin, "write")
    for role in ("manager", "agent", "support", "finance"):
        user = await tenants.add_user(admin, role)
        assert (await client.get("/v2/api-keys", headers=user.auth)).status_code == 403
        assert (await client.post("/v2/api-keys", headers=user.auth, json={"name": "x"})).status_code == 403
        assert (await client.delete(f"/v2/api-keys/{key_id}", headers=user.auth)).status_code == 403
    # Keys cannot mint keys.
    assert (await client.post("/v2/api-keys", headers={"X-API-Key": key}, json={"name": "x"})).status_code == 403


async def test_another_tenants_ids_answer_404(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a = await tenants.create()
    b = await tenants.create()
    b_key_id, _ = await tenants.api_key(b, "read")
    _, a_key = await tenants.api_key(a, "write")
    assert (await client.get(f"/v2/users/{b.user_id}", headers=a.auth)).status_code == 404
    assert (await client.get(f"/v2/users/{b.user_id}", headers={"X-API-Key": a_key})).status_code == 404
    patched = await client.patch(f"/v2/users/{b.user_id}", headers=a.auth, json={"role": "agent"})
    assert patched.status_code == 404 and patched.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert (await client.delete(f"/v2/api-keys/{b_key_id}", headers=a.auth)).status_code == 404
    users = (await client.get("/v2/users", headers=a.auth)).json()
    assert [u["email"] for u in users["data"]] == [a.email]
    # B's key still works: nothing of B changed.
    assert (await client.get("/v2/api-keys", headers=b.auth)).json()["data"][0]["revoked_at"] is None


async def test_oauth_client_credentials_grant(client: httpx.AsyncClient, tenants: Tenants) -> None:
    """RFC 6749 client credentials, form-encoded as in the reference guide; the first release's `read` still works."""
    admin = await tenants.create()
    created = await client.post("/v2/oauth-clients", headers=admin.auth, json={"name": "Warehouse", "scopes": ["read"]})
    assert created.status_code == 201
    assert created.json()["scopes"] == "*:read"
    client_id, secret = created.json()["client_id"], created.json()["client_secret"]
    token = await client.post(
        "/v2/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": "read"}
    )
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "Bearer" and token.json()["scope"] == "read"
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}", "X-Tenant-ID": str(admin.tenant_id)}
    assert (await client.get("/v2/users", headers=bearer)).status_code == 200
    assert (await client.post("/v2/users", headers=bearer, json={})).status_code == 403
    too_much = await client.post(
        "/v2/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": "write"}
    )
    assert too_much.status_code == 400 and too_much.json()["error"]["details"]["error"] == "invalid_scope"
    bad = await client.post("/v2/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "wrong"})
    assert bad.status_code == 401
    unsupported = await client.post("/v2/oauth/token", data={"grant_type": "password", "client_id": client_id, "client_secret": secret})
    assert unsupported.status_code == 400
    await client.delete(f"/v2/oauth-clients/{created.json()['id']}", headers=admin.auth)
    assert (await client.get("/v2/users", headers=bearer)).status_code == 401


async def test_oauth_client_authenticates_with_http_basic(client: httpx.AsyncClient, tenants: Tenants) -> None:
    """RFC 6749 §2.3.1: the client's id and secret in `Authorization: Basic`, as HTTP clients send them."""
    admin = await tenants.create()
    created = (await client.post("/v2/oauth-clients", headers=admin.auth, json={"name": "Warehouse", "scopes": ["read"]})).json()
    form = {"grant_type": "client_credentials"}
    token = await client.post("/v2/oauth/token", data=form, auth=httpx.BasicAuth(created["client_id"], created["client_secret"]))
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (await client.get("/v2/users", headers=bearer)).status_code == 200
    wrong = await client.post("/v2/oauth/token", data=form, auth=httpx.BasicAuth(created["client_id"], "wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"]["details"]["error"] == "invalid_client"
    garbled = await client.post("/v2/oauth/token", data=form, headers={"Authorization": "Basic not-base64!"})
    assert garbled.status_code == 401
    # Basic is for the token endpoint only: everywhere else it is refused before any handler runs.
    elsewhere = await client.get("/v2/users", auth=httpx.BasicAuth(created["client_id"], created["client_secret"]))
    assert elsewhere.status_code == 401 and elsewhere.json()["error"]["code"] == "AUTHENTICATION_ERROR"


async def test_concurrent_first_use_of_a_key_is_consistent(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    _, key = await tenants.api_key(admin, "read")
    responses = await asyncio.gather(*(client.get("/v2/users", headers={"X-API-Key": key}) for _ in range(5)))
    assert [r.status_code for r in responses] == [200] * 5


async def test_an_api_key_also_works_as_a_bearer_token(client: httpx.AsyncClient, tenants: Tenants) -> None:
    """The enterprise guide sends keys as `Authorization: Bearer <key>`."""
    admin = await tenants.create()
    _, key = await tenants.api_key(admin, "read")
    me = await client.get("/v2/users", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.json()["total"] == 1
    assert (await client.get("/v2/users", headers={"Authorization": "Bearer atr_live_forged"})).status_code == 401
    assert (await client.post("/v2/api-keys", headers={"Authorization": f"Bearer {key}"}, json={"name": "x"})).status_code == 403
