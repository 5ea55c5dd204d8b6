"""Analytics: `deal_open`, the open deals' count and value per tenant, stage, owner and currency, kept by statement
triggers on `deal` in the transaction of every change (as lead_day is kept from the milestones), filled from the deals
there are. Row-level security as every tenant table."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-02T03:45:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "Analytics: deal_open triggers, backfill and RLS"

KEY = "tenant_id, stage_id, owner_id, currency"


def _contribution(rows: str, sign: str) -> str:
    """What each open deal of `rows` adds to its stage's row (`sign` 1) or takes off it (-1)."""
    return f"""
    SELECT tenant_id, stage_id, coalesce(owner_id, 0) AS owner_id, currency, {sign} AS deals, {sign} * value AS value
      FROM {rows} WHERE status = 'open'"""


def _apply(changes: str) -> str:
    """Add the summed `changes` to their rows, in the key's order (two transactions never lock them crosswise); a change
    that adds nothing (a deal touched, reordered in its stage) writes and locks nothing."""
    return f"""
        INSERT INTO deal_open AS d ({KEY}, deals, value)
        SELECT {KEY}, sum(deals), sum(value) FROM ({changes}) c GROUP BY {KEY}
        HAVING sum(deals) <> 0 OR sum(value) <> 0 ORDER BY {KEY}
        ON CONFLICT ({KEY}) DO UPDATE SET deals = d.deals + EXCLUDED.deals, value = d.value + EXCLUDED.value;"""


STATEMENTS = [
    f"CREATE UNIQUE INDEX deal_open_key ON deal_open ({KEY})",
    f"""
    CREATE OR REPLACE FUNCTION deal_open_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        {_apply(_contribution("new_rows", "1"))}
      ELSIF TG_OP = 'UPDATE' THEN
        {_apply(_contribution("old_rows", "-1") + " UNION ALL " + _contribution("new_rows", "1"))}
      ELSE
        -- A tenant being deleted takes its rows with it (they go by cascade).
        {_apply(_contribution("old_rows o", "-1") + " AND EXISTS (SELECT 1 FROM tenant t WHERE t.id = o.tenant_id)")}
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION deal_open_clear() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM deal_open;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER deal_open_truncate AFTER TRUNCATE ON deal FOR EACH STATEMENT EXECUTE FUNCTION deal_open_clear()",
    "CREATE TRIGGER deal_open_insert AFTER INSERT ON deal REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION deal_open_apply()",
    "CREATE TRIGGER deal_open_update AFTER UPDATE ON deal REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION deal_open_apply()",
    "CREATE TRIGGER deal_open_delete AFTER DELETE ON deal REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION deal_open_apply()",
    _apply(_contribution("deal", "1")).strip().rstrip(";"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for statement in tenant_rls_sql("deal_open"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
