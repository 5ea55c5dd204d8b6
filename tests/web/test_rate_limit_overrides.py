"""Rate limits an operator can change: per plan and off altogether (settings), and per tenant (the CLI's service)."""

from __future__ import annotations

import dataclasses

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.accounts import service as accounts
from tests.factories import Tenants


async def _bucket_rows(db: asyncpg.Connection) -> int:
    count: int = await db.fetchval("SELECT count(*) FROM rate_limit_bucket")
    return count


async def test_rate_limits_off_lets_everything_through_and_writes_no_bucket(
    client: httpx.AsyncClient, tenants: Tenants, app: Litestar, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await tenants.create()
    await db.execute("DELETE FROM rate_limit_bucket")
    monkeypatch.setattr(app.state, "settings", dataclasses.replace(app.state.settings, rate_limiting=False))
    statuses = {(await client.get("/v2/auth/me", headers=admin.auth)).status_code for _ in range(130)}
    assert statuses == {200}, "130 quick requests pass a starter tenant's burst of 120 when limits are off"
    last = await client.get("/v2/users", headers={"X-API-Key": "atr_live_guess00000000xxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})
    assert last.status_code == 401
    for answer in ((await client.get("/v2/auth/me", headers=admin.auth)), last):
        assert "x-ratelimit-limit" not in answer.headers and "ratelimit-policy" not in answer.headers
    assert await _bucket_rows(db) == 0


async def test_a_plan_set_to_off_is_unlimited(
    client: httpx.AsyncClient, tenants: Tenants, app: Litestar, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    enterprise = await tenants.create(plan="enterprise")
    starter = await tenants.create()
    limits = {**app.state.settings.rate_limits, "enterprise": 0}
    monkeypatch.setattr(app.state, "settings", dataclasses.replace(app.state.settings, rate_limits=limits))
    await db.execute("DELETE FROM rate_limit_bucket")
    assert "x-ratelimit-limit" not in (await client.get("/v2/auth/me", headers=enterprise.auth)).headers
    assert await db.fetchval("SELECT count(*) FROM rate_limit_bucket WHERE bucket = $1", f"tenant:{enterprise.tenant_id}") == 0
    assert (await client.get("/v2/auth/me", headers=starter.auth)).headers["x-ratelimit-limit"] == "60"


async def test_a_tenants_own_limit_overrides_its_plan(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    small = await tenants.create()
    other = await tenants.create()
    await accounts.set_tenant_rate_limit(str(small.tenant_id), 5)
    first = await client.get("/v2/auth/me", headers=small.auth)
    assert first.headers["x-ratelimit-limit"] == "5" and first.headers["ratelimit-policy"] == '"tenant";q=5;w=60'
    statuses = [(await client.get("/v2/auth/me", headers=small.auth)).status_code for _ in range(12)]
    assert statuses[-1] == 429 and statuses.count(200) <= 10, "a burst of twice the tenant's own 5/minute"
    assert (await client.get("/v2/auth/me", headers=other.auth)).headers["x-ratelimit-limit"] == "60", "others keep their plan's"
    # Unlimited (0): no headers and no bucket use from now on; back to the plan's with None.
    await accounts.set_tenant_rate_limit(str(small.tenant_id), 0)
    await db.execute("DELETE FROM rate_limit_bucket")
    free = [await client.get("/v2/auth/me", headers=small.auth) for _ in range(3)]
    assert all(r.status_code == 200 and "x-ratelimit-limit" not in r.headers for r in free)
    assert await _bucket_rows(db) == 0
    restored = await accounts.set_tenant_rate_limit(str(small.tenant_id), None)
    assert restored["rate_limit"] is None
    assert (await client.get("/v2/auth/me", headers=small.auth)).headers["x-ratelimit-limit"] == "60"
    audit = (await client.get("/v2/audit-log?action=tenant.rate_limit_changed", headers=small.auth)).json()
    assert [e["details"] for e in audit["data"]] == [{"from": 0, "to": None}, {"from": 5, "to": 0}, {"from": None, "to": 5}]


async def test_a_tenant_cannot_change_its_own_plan_or_limit(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    async with db.transaction():
        await db.execute("SET LOCAL ROLE atrium_app")
        await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(admin.tenant_id))
        for column, value in (("rate_limit", "0"), ("plan", "'enterprise'")):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with db.transaction():
                    await db.execute(f"UPDATE tenant SET {column} = {value} WHERE id = $1", admin.tenant_id)
        await db.execute("UPDATE tenant SET name = 'Renamed' WHERE id = $1", admin.tenant_id)
    assert await db.fetchval("SELECT rate_limit FROM tenant WHERE id = $1", admin.tenant_id) is None
