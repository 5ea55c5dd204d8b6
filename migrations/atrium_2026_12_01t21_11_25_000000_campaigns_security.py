"""Campaigns: row-level security, checks, a lead's campaign as a foreign key and the index its counts read."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-01T21:11:25:000000"
VERSION = "1.38.0"
DESCRIPTION = "Campaigns: RLS, checks, lead.campaign_id foreign key and index"

STATEMENTS = [
    "ALTER TABLE campaign ADD CONSTRAINT campaign_budget CHECK (budget >= 0)",
    "ALTER TABLE campaign ADD CONSTRAINT campaign_dates CHECK (ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on)",
    "ALTER TABLE lead ADD CONSTRAINT lead_campaign FOREIGN KEY (campaign_id) REFERENCES campaign (id) ON DELETE SET NULL",
    "CREATE INDEX lead_tenant_campaign ON lead (tenant_id, campaign_id, status) WHERE campaign_id IS NOT NULL",
    "CREATE INDEX campaign_tenant ON campaign (tenant_id, created_at DESC, id DESC)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for statement in tenant_rls_sql("campaign"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
