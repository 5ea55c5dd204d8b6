"""`GET /v2/security/audit-log?start_date&end_date&event_type`, as the enterprise guide documents it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from tests.factories import Tenants


async def test_the_guides_audit_log_filters_by_time_and_event_type(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin, other = await tenants.create(), await tenants.create()
    await client.post("/v2/api-keys", headers=admin.auth, json={"name": "sync"})
    await db.execute(
        "UPDATE audit_log SET created_at = now() - interval '3 days' WHERE tenant_id = $1 AND action = 'tenant.registered'", admin.tenant_id
    )
    everything = (await client.get("/v2/security/audit-log", headers=admin.auth)).json()
    assert {e["action"] for e in everything["data"]} >= {"tenant.registered", "api_key.created"}
    keys = (await client.get("/v2/security/audit-log?event_type=api_key.created", headers=admin.auth)).json()
    assert [e["action"] for e in keys["data"]] == ["api_key.created"]
    today = datetime.now(UTC).date().isoformat()
    recent = (await client.get(f"/v2/security/audit-log?start_date={today}", headers=admin.auth)).json()
    assert "tenant.registered" not in {e["action"] for e in recent["data"]}
    before = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = (await client.get("/v2/security/audit-log", params={"end_date": before}, headers=admin.auth)).json()
    assert [e["action"] for e in old["data"]] == ["tenant.registered"]
    assert all(e["actor"] != other.email for e in everything["data"]), "only the caller's tenant"
    bad = await client.get("/v2/security/audit-log?start_date=yesterday", headers=admin.auth)
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "start_date"
    backwards = await client.get(f"/v2/security/audit-log?start_date={today}&end_date=2020-01-01", headers=admin.auth)
    assert backwards.status_code == 422
    agent = await tenants.add_user(admin, "agent")
    assert (await client.get("/v2/security/audit-log", headers=agent.auth)).status_code == 403
