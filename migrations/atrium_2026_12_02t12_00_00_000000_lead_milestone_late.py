"""Analytics: an index of the "late" leads alone, those that took a step on a later UTC day than the one they came in.
A period that has ended reads its figures from `lead_day` (the leads as they stand now) less the steps its leads took
after its end, and only these leads can have taken any: a few thousand index entries instead of every lead of the
period (app/analytics/service.py, `LATE`, whose condition this index's must match word for word)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Analytics: index of the leads that took a step after the day they came in"

STATEMENTS = [
    "CREATE INDEX lead_milestone_late ON lead_milestone (tenant_id, started_at)"
    " INCLUDE (agent_id, source, live, responded_at, qualified_at, phone_at, viewing_at, won_at)"
    " WHERE (greatest(responded_at, qualified_at, phone_at, viewing_at, won_at) AT TIME ZONE 'UTC')::date"
    " > (started_at AT TIME ZONE 'UTC')::date",
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
