"""Analytics: `lead_day`, the funnel's counts per tenant, creation day, agent and source, kept by statement triggers
on `lead_milestone` in the transaction of every change (as lead_counter is kept from lead), and filled from the
milestones there are. Row-level security as every tenant table."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-02T03:42:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "Analytics: lead_day triggers, backfill and RLS"

KEY = "tenant_id, day, agent_id, source"
FIGURES = "started, qualified, phone_captured, viewing_scheduled, closed_won, won, qualification_seconds, responded, response_seconds"


def _contribution(rows: str, sign: str) -> str:
    """What each live milestone of `rows` adds to its day (`sign` 1) or takes off it (-1)."""
    return f"""
    SELECT tenant_id, (started_at AT TIME ZONE 'UTC')::date AS day, coalesce(agent_id, 0) AS agent_id, coalesce(source, '') AS source,
           {sign} AS started,
           {sign} * (qualified_at IS NOT NULL)::int AS qualified,
           {sign} * (qualified_at IS NOT NULL AND phone_at IS NOT NULL)::int AS phone_captured,
           {sign} * (qualified_at IS NOT NULL AND phone_at IS NOT NULL AND viewing_at IS NOT NULL)::int AS viewing_scheduled,
           {sign} * (qualified_at IS NOT NULL AND phone_at IS NOT NULL AND viewing_at IS NOT NULL AND won_at IS NOT NULL)::int
             AS closed_won,
           {sign} * (won_at IS NOT NULL)::int AS won,
           {sign} * coalesce(extract(epoch FROM qualified_at - started_at), 0) AS qualification_seconds,
           {sign} * (responded_at IS NOT NULL)::int AS responded,
           {sign} * coalesce(extract(epoch FROM responded_at - started_at), 0) AS response_seconds
      FROM {rows} WHERE live"""


def _apply(changes: str) -> str:
    """Add the summed `changes` to their days' rows, in the key's order (two transactions never lock them crosswise)."""
    sums = ", ".join(f"sum({f})" for f in FIGURES.split(", "))
    updates = ", ".join(f"{f} = d.{f} + EXCLUDED.{f}" for f in FIGURES.split(", "))
    return f"""
        INSERT INTO lead_day AS d ({KEY}, {FIGURES})
        SELECT {KEY}, {sums} FROM ({changes}) c GROUP BY {KEY} ORDER BY {KEY}
        ON CONFLICT ({KEY}) DO UPDATE SET {updates};"""


STATEMENTS = [
    f"CREATE UNIQUE INDEX lead_day_key ON lead_day ({KEY})",
    f"""
    CREATE OR REPLACE FUNCTION lead_day_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        {_apply(_contribution("new_rows", "1"))}
      ELSIF TG_OP = 'UPDATE' THEN
        {_apply(_contribution("old_rows", "-1") + " UNION ALL " + _contribution("new_rows", "1"))}
      ELSE
        -- A tenant being deleted takes its days with it (their rows go by cascade).
        {_apply(_contribution("old_rows o", "-1") + " AND EXISTS (SELECT 1 FROM tenant t WHERE t.id = o.tenant_id)")}
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION lead_day_clear() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM lead_day;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER lead_day_truncate AFTER TRUNCATE ON lead_milestone FOR EACH STATEMENT EXECUTE FUNCTION lead_day_clear()",
    "CREATE TRIGGER lead_day_insert AFTER INSERT ON lead_milestone REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION lead_day_apply()",
    "CREATE TRIGGER lead_day_update AFTER UPDATE ON lead_milestone REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION lead_day_apply()",
    "CREATE TRIGGER lead_day_delete AFTER DELETE ON lead_milestone REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION lead_day_apply()",
    _apply(_contribution("lead_milestone", "1")).strip().rstrip(";"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for statement in tenant_rls_sql("lead_day"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
