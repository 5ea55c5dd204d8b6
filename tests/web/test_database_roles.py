"""The app's database login has no power of its own: raw SQL as Atrium's login role, as an attacker with an
injection would send it, gains nothing beyond the role its transaction names (issue #9)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, DatabaseUrls, queue_url
from tests.factories import BULK_LEADS_SQL, Tenants


@pytest.fixture
async def login(urls: DatabaseUrls) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection exactly as the app makes them."""
    conn = await asyncpg.connect(urls.app)
    try:
        yield conn
    finally:
        await conn.close()


async def test_the_login_role_is_no_superuser_bypasses_nothing_and_owns_nothing(login: asyncpg.Connection, db: asyncpg.Connection) -> None:
    assert await login.fetchval("SELECT current_user") == LOGIN_ROLE
    role = await db.fetchrow("SELECT * FROM pg_roles WHERE rolname = $1", LOGIN_ROLE)
    assert not (role["rolsuper"] or role["rolbypassrls"] or role["rolcreatedb"] or role["rolcreaterole"] or role["rolinherit"])
    assert await db.fetchval("SELECT count(*) FROM pg_class WHERE relowner = $1::regrole", LOGIN_ROLE) == 0
    memberships = {
        (r["role"], r["member"]): r
        for r in await db.fetch(
            """SELECT g.rolname AS role, m.rolname AS member, a.inherit_option, a.set_option, a.admin_option
                 FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
                WHERE m.rolname = ANY($1::text[])""",
            [LOGIN_ROLE, SYSTEM_LOGIN],
        )
    }
    # Tenant work's login may become atrium_app and nothing else; system work's login the system and queue roles.
    assert set(memberships) == {("atrium_app", LOGIN_ROLE), ("atrium_system", SYSTEM_LOGIN), ("atrium_queue", SYSTEM_LOGIN)}
    for granted in memberships.values():
        assert granted["set_option"] and not granted["inherit_option"] and not granted["admin_option"], dict(granted)


async def test_outside_a_transactions_role_the_login_reads_and_makes_nothing(login: asyncpg.Connection, tenants: Tenants) -> None:
    await tenants.create()
    for statement in (
        "SELECT count(*) FROM app_user",
        "SELECT count(*) FROM tenant",
        "SELECT count(*) FROM lead_search",
        "SELECT count(*) FROM saq_jobs",
        "CREATE TABLE mine (id int)",
        "CREATE TEMP TABLE mine (id int)",
        "CREATE FUNCTION pg_temp.leak(text) RETURNS bool LANGUAGE sql AS 'SELECT true'",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await login.execute(statement)


async def test_reset_role_inside_a_tenant_transaction_gains_nothing(login: asyncpg.Connection, tenants: Tenants) -> None:
    a, b = await tenants.create(), await tenants.create()
    async with login.transaction():
        await login.execute("SELECT set_config('role', 'atrium_app', true), set_config('app.tenant_id', $1, true)", str(a.tenant_id))
        assert await login.fetchval("SELECT count(*) FROM app_user WHERE tenant_id = $1", b.tenant_id) == 0
        await login.execute("RESET ROLE")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await login.fetchval("SELECT count(*) FROM app_user")
    # Nor in a session setting that outlives it.
    await login.execute("SET ROLE NONE")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await login.fetchval("SELECT count(*) FROM app_user")


async def test_sql_in_a_tenant_transaction_cannot_become_the_system_or_queue_role(login: asyncpg.Connection, tenants: Tenants) -> None:
    """The system role reads accounts across tenants: the login tenant work runs as may never switch to it."""
    a = await tenants.create()
    for role in ("atrium_system", "atrium_queue"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with login.transaction():
                await login.execute(
                    "SELECT set_config('role', 'atrium_app', true), set_config('app.tenant_id', $1, true)", str(a.tenant_id)
                )
                await login.execute(f"SET LOCAL ROLE {role}")


async def test_conditions_on_the_search_views_never_see_another_tenants_rows(
    login: asyncpg.Connection, tenants: Tenants, db: asyncpg.Connection
) -> None:
    """A failing cast shows the value it failed on; without the barrier it would run on every tenant's rows first
    (the tables themselves are under row-level security, which keeps such conditions after the policy too)."""
    a, b = await tenants.create(), await tenants.create()
    await db.execute(BULK_LEADS_SQL, b.tenant_id, 200)
    async with login.transaction():
        await login.execute("SELECT set_config('role', 'atrium_app', true), set_config('app.tenant_id', $1, true)", str(a.tenant_id))
        await login.execute("SELECT set_config('app.search', '%lead%', true)")
        for view in ("lead", "lead_search"):
            assert await login.fetchval(f"SELECT count(*) FROM {view} WHERE name::int = 1 OR email::int = 1") == 0, view
            assert await login.fetchval(f"SELECT count(*) FROM {view} WHERE 1 / (length(name) - length(name)) = 1") == 0, view
    options = await db.fetch("SELECT relname, reloptions FROM pg_class WHERE relkind = 'v' AND relnamespace = 'public'::regnamespace")
    assert options and all("security_barrier=true" in (r["reloptions"] or []) for r in options), options


async def test_the_system_role_has_its_declared_grants_and_nothing_more(urls: DatabaseUrls, tenants: Tenants) -> None:
    a = await tenants.create()
    login = await asyncpg.connect(urls.system)
    async with login.transaction():
        await login.execute("SELECT set_config('role', 'atrium_system', true)")
        assert await login.fetchval("SELECT count(*) FROM app_user WHERE id = $1", a.user_id) == 1  # a login finds its account
    for statement in (
        "SELECT name FROM lead",
        "SELECT count(*) FROM contact",
        "SELECT count(*) FROM audit_log",
        "SELECT key FROM idempotency_record",
        "UPDATE tenant SET name = 'pwned'",
        "UPDATE app_user SET role = 'admin'",
        "DELETE FROM app_user",
        "SELECT count(*) FROM saq_jobs",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with login.transaction():
                await login.execute("SELECT set_config('role', 'atrium_system', true)")
                await login.execute(statement)
    await login.close()


async def test_the_queues_connections_reach_only_the_queues_tables(urls: DatabaseUrls) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(queue_url(urls.system), autocommit=True) as queue:
        assert (await (await queue.execute("SELECT current_user")).fetchone()) == ("atrium_queue",)
        await queue.execute("SELECT count(*) FROM saq_jobs")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await queue.execute("SELECT count(*) FROM app_user")
