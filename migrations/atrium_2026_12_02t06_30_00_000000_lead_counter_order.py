from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T06:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "lead_counter's upserts take their rows' locks in one order, like lead_day's and deal_open's"

# Two statements changing the same statuses in opposite orders (a bulk status change beside another) could each
# hold one counter row and wait for the other's: a deadlock, one of them undone. Sorted, the second simply waits.
STATEMENTS = [
    """
    CREATE OR REPLACE FUNCTION lead_counter_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO lead_counter AS c (tenant_id, status, live)
          SELECT tenant_id, status, count(*) FROM new_rows WHERE deleted_at IS NULL GROUP BY tenant_id, status
           ORDER BY tenant_id, status
          ON CONFLICT (tenant_id, status) DO UPDATE SET live = c.live + EXCLUDED.live;
      ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO lead_counter AS c (tenant_id, status, live)
          SELECT tenant_id, status, sum(delta) FROM (
            SELECT tenant_id, status, -1 AS delta FROM old_rows WHERE deleted_at IS NULL
            UNION ALL
            SELECT tenant_id, status, 1 FROM new_rows WHERE deleted_at IS NULL
          ) changes GROUP BY tenant_id, status HAVING sum(delta) <> 0
           ORDER BY tenant_id, status
          ON CONFLICT (tenant_id, status) DO UPDATE SET live = c.live + EXCLUDED.live;
      ELSE
        INSERT INTO lead_counter AS c (tenant_id, status, live)
          SELECT o.tenant_id, o.status, -count(*) FROM old_rows o
           WHERE o.deleted_at IS NULL AND EXISTS (SELECT 1 FROM tenant t WHERE t.id = o.tenant_id)
           GROUP BY o.tenant_id, o.status
           ORDER BY o.tenant_id, o.status
          ON CONFLICT (tenant_id, status) DO UPDATE SET live = c.live + EXCLUDED.live;
      END IF;
      RETURN NULL;
    END $$
    """,
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
