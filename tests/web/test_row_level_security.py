"""PostgreSQL row-level security refuses cross-tenant access even when the service layer is bypassed."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import BULK_LEADS_SQL, Tenants

TENANT_TABLES = [
    "segment_snapshot",
    "app_user",
    "api_key",
    "oauth_client",
    "user_session",
    "revoked_token",
    "audit_log",
    "idempotency_record",
    "failed_job",
    "lead",
    "property",
    "portfolio",
    "portfolio_property",
    "portfolio_reconciliation",
    "activity",
    "outbox_event",
    "notification",
    "webhook_endpoint",
    "webhook_delivery",
    "webhook_attempt",
    "webhook_slot",
    "lead_counter",
    "lead_day",
    "deal_open",
    "company",
    "contact",
    "import_job",
    "import_row",
    "export_job",
    "lead_bulk_operation",
    "job_progress",
    "pipeline",
    "stage",
    "deal",
    "deal_watcher",
    "invitation",
    "appointment",
    "calendar_feed",
    "ticket",
    "ticket_comment",
    "sla_policy",
    "business_calendar",
    "kb_article",
    "canned_reply",
    "call",
    "call_event",
    "telephony_provider",
    "billing_settings",
    "invoice_counter",
    "invoice",
    "invoice_line",
    "payment",
    "expense",
    "exchange_rate",
    "expense_receipt",
    "message_template",
    "communication",
    "message_provider_event",
    "message_provider_secret",
    "message_opt_out",
    "nurture_sequence",
    "invoice_batch",
    "task",
    "workflow",
    "workflow_run",
    "saved_view",
    "campaign",
    "notification_setting",
    "lead_milestone",
]


async def test_raw_queries_as_the_app_role_see_only_their_tenant(tenants: Tenants, db: asyncpg.Connection) -> None:
    a = await tenants.create()
    b = await tenants.create()
    await tenants.api_key(b, "read")
    async with db.transaction():
        await db.execute("SET LOCAL ROLE atrium_app")
        await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(a.tenant_id))
        assert await db.fetchval("SELECT count(*) FROM app_user WHERE tenant_id = $1", b.tenant_id) == 0
        assert await db.fetchval("SELECT count(*) FROM api_key") == 0
        assert await db.fetchval("SELECT count(*) FROM app_user WHERE id = $1", b.user_id) == 0
        assert [r["id"] for r in await db.fetch("SELECT id FROM tenant")] == [a.tenant_id]
        assert await db.fetchval("SELECT count(*) FROM app_user") == 1
        updated = await db.execute("UPDATE app_user SET full_name = 'pwned' WHERE id = $1", b.user_id)
        assert updated == "UPDATE 0"


async def test_no_tenant_set_means_no_rows(tenants: Tenants, db: asyncpg.Connection) -> None:
    await tenants.create()
    async with db.transaction():
        await db.execute("SET LOCAL ROLE atrium_app")
        for table in [*TENANT_TABLES, "tenant"]:
            assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_the_app_role_cannot_write_into_another_tenant(tenants: Tenants, db: asyncpg.Connection) -> None:
    a = await tenants.create()
    b = await tenants.create()
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with db.transaction():
            await db.execute("SET LOCAL ROLE atrium_app")
            await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(a.tenant_id))
            await db.execute(
                "INSERT INTO audit_log (tenant_id, actor, action, target_type, target_id, ip, user_agent, details, created_at) "
                "VALUES ($1, 'x', 'forged', '', '', '', '', '{}', now())",
                b.tenant_id,
            )


async def test_every_tenant_table_forces_rls_and_the_app_role_owns_nothing(db: asyncpg.Connection) -> None:
    rows = await db.fetch(
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY($1::text[])", [*TENANT_TABLES, "tenant"]
    )
    assert {r["relname"] for r in rows} == {*TENANT_TABLES, "tenant"}
    assert all(r["relrowsecurity"] and r["relforcerowsecurity"] for r in rows)
    role = await db.fetchrow("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = 'atrium_app'")
    assert not role["rolsuper"] and not role["rolbypassrls"]
    owned = await db.fetchval("SELECT count(*) FROM pg_tables WHERE tableowner = 'atrium_app'")
    assert owned == 0
    # Every table with a tenant_id column is covered, so a new table cannot silently skip RLS.
    with_tenant = {
        r["table_name"]
        for r in await db.fetch(
            "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.column_name = 'tenant_id' AND c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
        )
    }
    assert with_tenant <= set(TENANT_TABLES)


async def test_the_apps_tenant_transactions_run_as_the_app_role(app: object, tenants: Tenants) -> None:
    """The service layer's transactions are themselves under RLS, not only raw test queries."""
    from app.db import fetch, system_transaction, tenant_transaction

    a = await tenants.create()
    b = await tenants.create()
    async with tenant_transaction(a.tenant_id):
        rows = await fetch("SELECT current_user AS role, current_setting('app.tenant_id') AS tenant")
        assert rows == [{"role": "atrium_app", "tenant": str(a.tenant_id)}]
        assert await fetch("SELECT id FROM app_user WHERE tenant_id = $1", b.tenant_id) == []
    async with system_transaction():
        assert (await fetch("SELECT current_user AS role"))[0]["role"] == "atrium_system"
    with pytest.raises(RuntimeError):
        async with tenant_transaction(a.tenant_id), tenant_transaction(b.tenant_id):
            pass
    with pytest.raises(RuntimeError):
        async with tenant_transaction(a.tenant_id), system_transaction():
            pass


async def test_the_lead_search_view_applies_the_same_tenant_predicate(tenants: Tenants, db: asyncpg.Connection) -> None:
    a = await tenants.create()
    b = await tenants.create()
    for tenant in (a, b):
        await db.execute(BULK_LEADS_SQL, tenant.tenant_id, 1)  # both get a lead named 'Lead 1'
    async with db.transaction():
        await db.execute("SET LOCAL ROLE atrium_app")
        await db.execute("SELECT set_config('app.search', '%lead 1%', true)")
        assert await db.fetchval("SELECT count(*) FROM lead_search") == 0, "no tenant set, no rows"
        await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(a.tenant_id))
        rows = await db.fetch("SELECT tenant_id FROM lead_search")
        assert [r["tenant_id"] for r in rows] == [a.tenant_id]
        assert await db.fetchval("SELECT count(*) FROM lead_search WHERE tenant_id = $1", b.tenant_id) == 0
        await db.execute("SELECT set_config('app.search', '', true)")
        assert await db.fetchval("SELECT count(*) FROM lead_search") == 0, "no search set, no rows"


async def test_every_declared_large_table_gets_a_search_view_its_trigram_index_serves(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    """Contacts search reads contact_search: tenant-isolated, and the trigram index serves its pattern."""
    a, b = await tenants.create(), await tenants.create()
    for account, name in ((a, "Zeynep Arslan"), (b, "Zeynep Arslan")):
        assert (await client.post("/v2/contacts", headers=account.auth, json={"name": name})).status_code == 201
    found = (await client.get("/v2/contacts?q=zeynep", headers=a.auth)).json()
    assert found["total"] == 1 and found["data"][0]["name"] == "Zeynep Arslan"
    views = {r["table_name"] for r in await db.fetch("SELECT table_name FROM information_schema.views")}
    assert {"lead_search", "contact_search", "company_search"} <= views
    assert not {v for v in views if v.endswith("_scoped")}, "the unguarded views of earlier versions are gone"
    await db.execute(
        "INSERT INTO contact (tenant_id, name, title, notes, created_at, updated_at) "
        "SELECT $1, 'Contact ' || g, '', '', now(), now() FROM generate_series(1, 50000) g",
        a.tenant_id,
    )
    await db.execute("ANALYZE contact")
    async with db.transaction():
        # Can the index be used at all? (On a table this small the planner might rather scan.)
        await db.execute("SET LOCAL enable_seqscan = off")
        await db.execute("SET LOCAL ROLE atrium_app")
        await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(a.tenant_id))
        await db.execute("SELECT set_config('app.search', '%zeynep%', true)")
        plan = "\n".join(r[0] for r in await db.fetch("EXPLAIN SELECT id FROM contact_search c"))
        assert "contact_search_trgm" in plan, plan
        assert [r["name"] for r in await db.fetch("SELECT name FROM contact_search")] == ["Zeynep Arslan"]
        # A condition written against the barrier view waits for the tenant predicate: no index for it.
        outside = "\n".join(r[0] for r in await db.fetch("EXPLAIN SELECT id FROM contact_search c WHERE c.name ILIKE '%arslan%'"))
        assert "Filter" in outside and outside.count("contact_search_trgm") == 1, outside
        direct = "\n".join(r[0] for r in await db.fetch("EXPLAIN SELECT id FROM contact WHERE name ILIKE '%zeynep%'"))
        assert "contact_search_trgm" not in direct, "under row-level security alone the index cannot serve ILIKE"
