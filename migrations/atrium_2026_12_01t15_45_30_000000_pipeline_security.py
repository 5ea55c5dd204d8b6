"""Pipelines and deals: row-level security, unique ranks in a stage, the board's indexes, and the
default real-estate pipeline for every existing tenant (new tenants get it at registration)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-01T15:45:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "Pipelines, stages, deals, watchers: RLS, constraints, indexes, default pipeline"

STATEMENTS = [
    # An open deal has a place in its stage; two deals never share it (checked at commit, so a stage's ranks may be
    # renumbered in one statement when two neighbours leave no room between them).
    "ALTER TABLE deal ADD CONSTRAINT deal_stage_rank UNIQUE (stage_id, rank) DEFERRABLE INITIALLY DEFERRED",
    "ALTER TABLE deal ADD CONSTRAINT deal_rank_when_open CHECK ((status = 'open') = (rank IS NOT NULL))",
    "ALTER TABLE deal ADD CONSTRAINT deal_status CHECK (status IN ('open', 'won', 'lost'))",
    "ALTER TABLE deal ADD CONSTRAINT deal_lost_reason CHECK (status <> 'lost' OR coalesce(lost_reason, '') <> '')",
    "ALTER TABLE deal ADD CONSTRAINT deal_value CHECK (value >= 0)",
    "ALTER TABLE deal ADD CONSTRAINT deal_probability CHECK (probability IS NULL OR probability BETWEEN 0 AND 100)",
    "ALTER TABLE stage ADD CONSTRAINT stage_wip_limit CHECK (wip_limit IS NULL OR wip_limit >= 1)",
    "ALTER TABLE stage ADD CONSTRAINT stage_probability CHECK (probability BETWEEN 0 AND 100)",
    "CREATE INDEX deal_tenant_stage_rank ON deal (tenant_id, stage_id, rank) WHERE status = 'open'",
    "CREATE INDEX deal_tenant_created ON deal (tenant_id, created_at DESC, id DESC)",
    "CREATE INDEX deal_tenant_owner ON deal (tenant_id, owner_id, status)",
    "CREATE INDEX deal_tenant_lead ON deal (tenant_id, lead_id) WHERE lead_id IS NOT NULL",
    "CREATE INDEX deal_tenant_contact ON deal (tenant_id, contact_id) WHERE contact_id IS NOT NULL",
    "CREATE INDEX stage_tenant_pipeline ON stage (tenant_id, pipeline_id, position)",
    "CREATE INDEX pipeline_tenant ON pipeline (tenant_id, position)",
    "CREATE UNIQUE INDEX pipeline_one_default ON pipeline (tenant_id) WHERE is_default",
    "CREATE UNIQUE INDEX deal_watcher_once ON deal_watcher (tenant_id, deal_id, user_id)",
    # Every tenant that exists now gets the default pipeline (app.pipeline.service.DEFAULT_STAGES at this version).
    """WITH made AS (
         INSERT INTO pipeline (tenant_id, name, is_default, position, created_at, updated_at)
         SELECT t.id, 'Sales', true, 1, now(), now() FROM tenant t WHERE NOT EXISTS (SELECT 1 FROM pipeline p WHERE p.tenant_id = t.id)
         RETURNING id, tenant_id)
       INSERT INTO stage (tenant_id, pipeline_id, name, position, probability, created_at, updated_at)
       SELECT made.tenant_id, made.id, s.name, s.n, s.probability, now(), now()
         FROM made, unnest(ARRAY['New enquiry', 'Qualified', 'Viewing', 'Offer made', 'Negotiation', 'Contract', 'Closing'],
                           ARRAY[10, 20, 35, 50, 65, 80, 95]) WITH ORDINALITY AS s(name, probability, n)""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for table in ("pipeline", "stage", "deal", "deal_watcher"):
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
