"""Analytics: a lead's milestone keeps its `utm_campaign` custom field beside its campaign and source, so attribution
by campaign counts a period's leads from the milestones' index alone instead of joining every one of them to `lead`
(tens of thousands a month). The milestones' trigger function is the one of 2026-12-01T23:33:10 with that field added;
the index the figures read carries the source and both campaign fields; filled from the leads that have one."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T11:30:31:000000"
VERSION = "1.38.0"
DESCRIPTION = "Analytics: lead_milestone keeps the lead's utm_campaign"

QUALIFIED = "('QUALIFIED', 'VIEWING_SCHEDULED', 'NEGOTIATING', 'WON')"
VIEWING = "('VIEWING_SCHEDULED', 'NEGOTIATING', 'WON')"
# At most 200 characters: it is in an index, and a custom field has no length limit (a B-tree entry must stay under
# about 2.7 kB, or the lead could not be saved).
UTM = "left(nullif(n.custom_fields ->> 'utm_campaign', ''), 200)"


def _reached(status: str, day: str, stages: str) -> str:
    return f"CASE WHEN {status} IN {stages} THEN {day} END"


STATEMENTS = [
    f"""
    CREATE OR REPLACE FUNCTION lead_milestone_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO lead_milestone (tenant_id, lead_id, agent_id, source, campaign_id, utm_campaign, live, started_at,
                                    responded_at, qualified_at, phone_at, viewing_at, won_at, lost_at)
          SELECT n.tenant_id, n.id, n.agent_id, n.source, n.campaign_id, {UTM}, n.deleted_at IS NULL, n.created_at, NULL,
                 {_reached("n.status", "n.created_at", QUALIFIED)},
                 CASE WHEN n.phone IS NOT NULL THEN n.created_at END,
                 {_reached("n.status", "n.created_at", VIEWING)},
                 {_reached("n.status", "n.created_at", "('WON')")},
                 {_reached("n.status", "n.created_at", "('LOST')")}
            FROM new_rows n;
      ELSE
        UPDATE lead_milestone m
           SET agent_id = n.agent_id, source = n.source, campaign_id = n.campaign_id, utm_campaign = {UTM},
               live = n.deleted_at IS NULL,
               responded_at = coalesce(m.responded_at, CASE WHEN n.status <> o.status THEN now() END),
               qualified_at = coalesce(m.qualified_at, {_reached("n.status", "now()", QUALIFIED)}),
               phone_at = coalesce(m.phone_at, CASE WHEN n.phone IS NOT NULL THEN now() END),
               viewing_at = coalesce(m.viewing_at, {_reached("n.status", "now()", VIEWING)}),
               won_at = coalesce(m.won_at, {_reached("n.status", "now()", "('WON')")}),
               lost_at = coalesce(m.lost_at, {_reached("n.status", "now()", "('LOST')")})
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE m.lead_id = n.id
           AND (o.status, o.phone, o.agent_id, o.source, o.campaign_id, o.custom_fields ->> 'utm_campaign', o.deleted_at)
               IS DISTINCT FROM (n.status, n.phone, n.agent_id, n.source, n.campaign_id, n.custom_fields ->> 'utm_campaign',
                                 n.deleted_at);
      END IF;
      RETURN NULL;
    END $$
    """,
    "UPDATE lead_milestone m SET utm_campaign = left(nullif(l.custom_fields ->> 'utm_campaign', ''), 200) FROM lead l"
    " WHERE l.id = m.lead_id AND nullif(l.custom_fields ->> 'utm_campaign', '') IS NOT NULL",
    "DROP INDEX IF EXISTS lead_milestone_started",
    "CREATE INDEX lead_milestone_started ON lead_milestone (tenant_id, started_at) "
    "INCLUDE (agent_id, live, responded_at, qualified_at, phone_at, viewing_at, won_at, source, campaign_id, utm_campaign)",
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
