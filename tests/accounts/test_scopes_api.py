"""OAuth-style scopes (`leads:read leads:write`, ArtinSmartRealty guide §1.2) for OAuth clients and API keys."""

from __future__ import annotations

import asyncpg
import httpx

from tests.factories import Tenants, make_lead
from tests.helpers import browser_login, csrf_of


async def _oauth_client(client: httpx.AsyncClient, admin_auth: dict[str, str], scopes: list[str]) -> tuple[str, str]:
    created = await client.post("/v2/oauth-clients", headers=admin_auth, json={"name": "Sync", "scopes": scopes})
    assert created.status_code == 201, created.text
    return created.json()["client_id"], created.json()["client_secret"]


async def test_the_guides_token_request_gets_a_token_with_those_scopes(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    foreign = await make_lead(client, other, name="Other tenant's lead")
    client_id, secret = await _oauth_client(client, admin.auth, ["leads:read", "leads:write"])
    # The request exactly as the guide writes it: form-encoded, scopes separated by a space.
    token = await client.post(
        "/v2/oauth/token",
        content=f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}&scope=leads:read leads:write",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "leads:read leads:write"
    bearer = {"Authorization": f"Bearer {body['access_token']}", "X-Tenant-ID": str(admin.tenant_id)}
    assert (await client.get("/v2/leads", headers=bearer)).status_code == 200
    created = await client.post("/v2/leads", headers=bearer, json={"name": "From the integration", "phone": "+971500000001"})
    assert created.status_code == 201, created.text
    refused = await client.get("/v2/contacts", headers=bearer)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "INSUFFICIENT_PERMISSIONS" and "contacts:read" in error["message"]
    assert error["details"] == {"required_scope": "contacts:read", "granted_scopes": "leads:read leads:write"}
    # The second tenant stays out of reach: its lead is not found, and its id in X-Tenant-ID is refused.
    assert (await client.get(f"/v2/leads/{foreign['id']}", headers=bearer)).status_code == 404
    assert (await client.get("/v2/leads", headers={**bearer, "X-Tenant-ID": str(other.tenant_id)})).status_code == 403


async def test_a_scope_beyond_the_clients_is_refused_not_narrowed(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    client_id, secret = await _oauth_client(client, admin.auth, ["leads:read", "contacts:write"])
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    for scope in ("leads:write", "*:read", "bananas:read", "leads:delete"):
        refused = await client.post("/v2/oauth/token", data={**form, "scope": scope})
        assert refused.status_code == 400, scope
        assert refused.json()["error"]["details"]["error"] == "invalid_scope"
    # Write implies read, so contacts:read is within contacts:write.
    narrower = await client.post("/v2/oauth/token", data={**form, "scope": "contacts:read"})
    assert narrower.status_code == 200 and narrower.json()["scope"] == "contacts:read"
    everything = await client.post("/v2/oauth/token", data=form)
    assert everything.json()["scope"] == "contacts:write leads:read", "no scope asked: the client's own"


async def test_clients_scopes_are_checked_when_created(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    bad = await client.post("/v2/oauth-clients", headers=admin.auth, json={"name": "x", "scopes": ["leads:read", "bananas:read"]})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["provided"] == "bananas:read"
    legacy = await client.post("/v2/oauth-clients", headers=admin.auth, json={"name": "x", "scopes": ["read", "write"]})
    assert legacy.json()["scopes"] == "*:read *:write"
    star = await client.post("/v2/oauth-clients", headers=admin.auth, json={"name": "x", "scopes": ["*"]})
    assert star.json()["scopes"] == "*:read *:write"


async def test_a_leads_only_key_reads_leads_but_not_contacts(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin)
    key_id, read_key = await tenants.api_key(admin, "read", resources=["leads"])
    _, write_key = await tenants.api_key(admin, "write", resources=["leads"])
    reader, writer = {"X-API-Key": read_key}, {"X-API-Key": write_key}
    assert (await client.get(f"/v2/leads/{lead['id']}", headers=reader)).status_code == 200
    contacts = await client.get("/v2/contacts", headers=reader)
    assert contacts.status_code == 403 and contacts.json()["error"]["details"]["required_scope"] == "contacts:read"
    # POST needs the write scope.
    body = {"name": "New", "phone": "+971500000002"}
    refused = await client.post("/v2/leads", headers=reader, json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "These credentials are read-only for leads: this needs the scope leads:write"
    assert (await client.post("/v2/leads", headers=writer, json=body)).status_code == 201
    assert (await client.post("/v2/contacts", headers=writer, json={"full_name": "C"})).status_code == 403
    # Nothing beyond leads: not the team, not the live stream.
    assert (await client.get("/v2/users", headers=writer)).status_code == 403
    assert (await client.post("/v2/sse/token", headers=writer)).status_code == 403
    listed = {k["id"]: k for k in (await client.get("/v2/api-keys", headers=admin.auth)).json()["data"]}
    assert listed[key_id]["scopes"] == "leads:read" and listed[key_id]["permission"] == "read"


async def test_keys_default_to_every_resource_and_refuse_unknown_ones(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    _, key = await tenants.api_key(admin, "write")
    assert (await client.get("/v2/contacts", headers={"X-API-Key": key})).status_code == 200
    keys = (await client.get("/v2/api-keys", headers=admin.auth)).json()["data"]
    assert keys[0]["scopes"] == "*:read *:write"
    unknown = await client.post("/v2/api-keys", headers=admin.auth, json={"name": "x", "resources": ["leads", "bananas"]})
    assert unknown.status_code == 422 and unknown.json()["error"]["details"]["field"] == "resources"


async def test_an_admin_picks_resources_on_the_api_keys_screen(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    await browser_login(client, admin)
    page = await client.get("/settings/api-keys")
    assert page.status_code == 200
    for name in ("leads", "contacts", "companies", "webhooks"):
        assert f'name="resources" value="{name}"' in page.text
    created = await client.post(
        "/settings/api-keys",
        data={"name": "Leads sync", "permission": "write", "mode": "live", "resources": ["leads", "contacts"]},
        headers={"HX-Request": "true", "x-csrf-token": csrf_of(page.text)},
    )
    assert created.status_code == 200, created.text
    assert "contacts:read contacts:write leads:read leads:write" in created.text
    keys = (await client.get("/v2/api-keys", headers=admin.auth)).json()["data"]
    assert keys[0]["name"] == "Leads sync" and keys[0]["scopes"] == "contacts:read contacts:write leads:read leads:write"


async def test_stored_read_and_write_scopes_migrate_to_their_star_forms(db: asyncpg.Connection) -> None:
    """The data migration, run again on rows written the first release's way."""
    import importlib

    migration = importlib.import_module("migrations.atrium_2026_12_01t12_45_20_000000_scopes_data")
    transaction = db.transaction()  # rolled back: the UPDATEs touch every row of the test database
    await transaction.start()
    try:
        tenant = await db.fetchval("INSERT INTO tenant (name, slug, plan) VALUES ('Old', 'old-scopes', 'starter') RETURNING id")
        await db.execute(
            "INSERT INTO oauth_client (tenant_id, name, client_id, secret_hash, scopes) VALUES ($1, 'a', 'c-a', 'x', 'read write'), "
            "($1, 'b', 'c-b', 'x', 'read')",
            tenant,
        )
        await db.execute(
            "INSERT INTO api_key (tenant_id, name, prefix, key_hash, mode, permission, scopes) VALUES "
            "($1, 'w', 'p-w', 'x', 'live', 'write', ''), ($1, 'r', 'p-r', 'x', 'live', 'read', '')",
            tenant,
        )
        for statement in migration.STATEMENTS:
            await db.execute(statement)
        clients = dict(await db.fetch("SELECT client_id, scopes FROM oauth_client WHERE tenant_id = $1", tenant))
        keys = dict(await db.fetch("SELECT prefix, scopes FROM api_key WHERE tenant_id = $1", tenant))
    finally:
        await transaction.rollback()
    assert clients == {"c-a": "*:read *:write", "c-b": "*:read"}
    assert keys == {"p-w": "*:read *:write", "p-r": "*:read"}


async def test_the_openapi_document_lists_the_scopes(client: httpx.AsyncClient) -> None:
    document = (await client.get("/v2/schema/openapi.json")).json()
    flow = document["components"]["securitySchemes"]["OAuth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/v2/oauth/token"
    assert {"*", "*:read", "*:write", "leads:read", "leads:write", "contacts:read", "webhooks:write"} <= set(flow["scopes"])


async def test_an_oauth_client_name_longer_than_its_column_is_refused(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    refused = await client.post("/v2/oauth-clients", headers=admin.auth, json={"name": "n" * 101, "scopes": ["*"]})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["field"] == "name"
