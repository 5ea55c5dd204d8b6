"""Analytics: the leads' milestones under row-level security, the triggers that keep them in each change's
transaction, a backfill from the leads' recorded status history, and the indexes the figures read."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-01T23:33:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "Analytics: lead_milestone RLS, triggers and backfill; indexes for won deals"

# A status and every status after it in the funnel (LOST leaves the funnel; NEGOTIATING is past the viewing).
QUALIFIED = "('QUALIFIED', 'VIEWING_SCHEDULED', 'NEGOTIATING', 'WON')"
VIEWING = "('VIEWING_SCHEDULED', 'NEGOTIATING', 'WON')"


def _reached(status: str, day: str, stages: str) -> str:
    return f"CASE WHEN {status} IN {stages} THEN {day} END"


STATEMENTS = [
    # The funnel and the sources read a period's leads: one index range, the figures from the index itself.
    "CREATE INDEX lead_milestone_started ON lead_milestone (tenant_id, started_at) "
    "INCLUDE (agent_id, live, responded_at, qualified_at, phone_at, viewing_at, won_at)",
    "CREATE INDEX lead_milestone_agent ON lead_milestone (tenant_id, agent_id, started_at)",
    # Won deals by the day they closed (leaderboard, attribution, KPIs).
    "CREATE INDEX deal_tenant_won ON deal (tenant_id, closed_at) INCLUDE (owner_id, value, currency, lead_id) WHERE status = 'won'",
    # The open pipeline by stage, from the index alone.
    "CREATE INDEX deal_tenant_open_value ON deal (tenant_id, stage_id) INCLUDE (value, currency, owner_id) WHERE status = 'open'",
    # One function for the statement-level triggers: a new lead's stages are those its status has passed when it is
    # created; a changed lead keeps the first time it reached each stage (the change's transaction time).
    f"""
    CREATE OR REPLACE FUNCTION lead_milestone_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO lead_milestone (tenant_id, lead_id, agent_id, source, campaign_id, live, started_at, responded_at,
                                    qualified_at, phone_at, viewing_at, won_at, lost_at)
          SELECT n.tenant_id, n.id, n.agent_id, n.source, n.campaign_id, n.deleted_at IS NULL, n.created_at, NULL,
                 {_reached("n.status", "n.created_at", QUALIFIED)},
                 CASE WHEN n.phone IS NOT NULL THEN n.created_at END,
                 {_reached("n.status", "n.created_at", VIEWING)},
                 {_reached("n.status", "n.created_at", "('WON')")},
                 {_reached("n.status", "n.created_at", "('LOST')")}
            FROM new_rows n;
      ELSE
        UPDATE lead_milestone m
           SET agent_id = n.agent_id, source = n.source, campaign_id = n.campaign_id, live = n.deleted_at IS NULL,
               responded_at = coalesce(m.responded_at, CASE WHEN n.status <> o.status THEN now() END),
               qualified_at = coalesce(m.qualified_at, {_reached("n.status", "now()", QUALIFIED)}),
               phone_at = coalesce(m.phone_at, CASE WHEN n.phone IS NOT NULL THEN now() END),
               viewing_at = coalesce(m.viewing_at, {_reached("n.status", "now()", VIEWING)}),
               won_at = coalesce(m.won_at, {_reached("n.status", "now()", "('WON')")}),
               lost_at = coalesce(m.lost_at, {_reached("n.status", "now()", "('LOST')")})
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE m.lead_id = n.id
           AND (o.status, o.phone, o.agent_id, o.source, o.campaign_id, o.deleted_at)
               IS DISTINCT FROM (n.status, n.phone, n.agent_id, n.source, n.campaign_id, n.deleted_at);
      END IF;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER lead_milestone_insert AFTER INSERT ON lead REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION lead_milestone_apply()",
    "CREATE TRIGGER lead_milestone_update AFTER UPDATE ON lead REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION lead_milestone_apply()",
    # The leads there are: their stages from their timelines' status entries (`created` and `status_changed`, whose
    # `changes.status` is [before, after]), the creation time for a status the timeline does not show.
    f"""
    INSERT INTO lead_milestone (tenant_id, lead_id, agent_id, source, campaign_id, live, started_at, responded_at,
                                qualified_at, phone_at, viewing_at, won_at, lost_at)
    SELECT l.tenant_id, l.id, l.agent_id, l.source, l.campaign_id, l.deleted_at IS NULL, l.created_at, h.responded,
           coalesce(h.qualified, {_reached("l.status", "l.created_at", QUALIFIED)}),
           CASE WHEN l.phone IS NOT NULL THEN l.created_at END,
           coalesce(h.viewing, {_reached("l.status", "l.created_at", VIEWING)}),
           coalesce(h.won, {_reached("l.status", "l.created_at", "('WON')")}),
           coalesce(h.lost, {_reached("l.status", "l.created_at", "('LOST')")})
      FROM lead l
      LEFT JOIN LATERAL (
        SELECT min(a.created_at) FILTER (WHERE a.kind = 'status_changed') AS responded,
               min(a.created_at) FILTER (WHERE a.changes -> 'status' ->> 1 IN {QUALIFIED}) AS qualified,
               min(a.created_at) FILTER (WHERE a.changes -> 'status' ->> 1 IN {VIEWING}) AS viewing,
               min(a.created_at) FILTER (WHERE a.changes -> 'status' ->> 1 = 'WON') AS won,
               min(a.created_at) FILTER (WHERE a.changes -> 'status' ->> 1 = 'LOST') AS lost
          FROM activity a
         WHERE a.tenant_id = l.tenant_id AND a.subject_type = 'lead' AND a.subject_id = l.id
           AND a.kind IN ('created', 'status_changed')) h ON true
    """,
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for statement in tenant_rls_sql("lead_milestone"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
