from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-11-24T03:53:17:963946"
VERSION = "1.38.0"
DESCRIPTION = "Triggers that keep lead_counter exact, and a backfill"

STATEMENTS = [
    "CREATE UNIQUE INDEX lead_counter_tenant_status ON lead_counter (tenant_id, status)",
    # One function for the three statement-level triggers: each statement's net change per
    # (tenant, status) of live leads is applied once, so bulk inserts stay cheap. Tenants being
    # deleted (their leads go by cascade) are skipped, so their counters can go too.
    """
    CREATE OR REPLACE FUNCTION lead_counter_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO lead_counter AS c (tenant_id, status, live)
          SELECT tenant_id, status, count(*) FROM new_rows WHERE deleted_at IS NULL GROUP BY tenant_id, status
          ON CONFLICT (tenant_id, status) DO UPDATE SET live = c.live + EXCLUDED.live;
      ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO lead_counter AS c (tenant_id, status, live)
          SELECT tenant_id, status, sum(delta) FROM (
            SELECT tenant_id, status, -1 AS delta FROM old_rows WHERE deleted_at IS NULL
            UNION ALL
            SELECT tenant_id, status, 1 FROM new_rows WHERE deleted_at IS NULL
          ) changes GROUP BY tenant_id, status HAVING sum(delta) <> 0
          ON CONFLICT (tenant_id, status) DO UPDATE SET live = c.live + EXCLUDED.live;
      ELSE
        INSERT INTO lead_counter AS c (tenant_id, status, live)
          SELECT o.tenant_id, o.status, -count(*) FROM old_rows o
           WHERE o.deleted_at IS NULL AND EXISTS (SELECT 1 FROM tenant t WHERE t.id = o.tenant_id)
           GROUP BY o.tenant_id, o.status
          ON CONFLICT (tenant_id, status) DO UPDATE SET live = c.live + EXCLUDED.live;
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION lead_counter_clear() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM lead_counter;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER lead_counter_truncate AFTER TRUNCATE ON lead FOR EACH STATEMENT EXECUTE FUNCTION lead_counter_clear()",
    "CREATE TRIGGER lead_counter_insert AFTER INSERT ON lead REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION lead_counter_apply()",
    "CREATE TRIGGER lead_counter_update AFTER UPDATE ON lead REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION lead_counter_apply()",
    "CREATE TRIGGER lead_counter_delete AFTER DELETE ON lead REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION lead_counter_apply()",
    "INSERT INTO lead_counter (tenant_id, status, live) "
    "SELECT tenant_id, status, count(*) FROM lead WHERE deleted_at IS NULL GROUP BY tenant_id, status",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for statement in tenant_rls_sql("lead_counter"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
