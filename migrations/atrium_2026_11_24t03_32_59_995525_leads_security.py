from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-11-24T03:32:59:995525"
VERSION = "1.38.0"
DESCRIPTION = "Leads: row-level security, uniqueness of live phone/e-mail, list and search indexes"

STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # A phone number or e-mail identifies one live lead per tenant (soft-deleted leads do not count).
    "CREATE UNIQUE INDEX lead_tenant_phone_live ON lead (tenant_id, phone) WHERE deleted_at IS NULL AND phone IS NOT NULL",
    "CREATE UNIQUE INDEX lead_tenant_email_live ON lead (tenant_id, lower(email)) WHERE deleted_at IS NULL AND email IS NOT NULL",
    # Keyset-friendly list orders and the common filters, live leads only.
    "CREATE INDEX lead_tenant_created ON lead (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL",
    "CREATE INDEX lead_tenant_status_created ON lead (tenant_id, status, created_at DESC, id DESC) WHERE deleted_at IS NULL",
    "CREATE INDEX lead_tenant_agent_created ON lead (tenant_id, agent_id, created_at DESC) WHERE deleted_at IS NULL",
    "CREATE INDEX lead_tenant_score ON lead (tenant_id, hotness_score DESC, id DESC) WHERE deleted_at IS NULL",
    # Substring search on name, e-mail and phone.
    "CREATE INDEX lead_search_trgm ON lead USING gin ((name || ' ' || coalesce(email, '') || ' ' || coalesce(phone, '')) gin_trgm_ops)",
    "CREATE INDEX lead_activity_lead_created ON lead_activity (tenant_id, lead_id, created_at DESC, id DESC)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for table in ("lead", "lead_activity"):
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
