from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import system_access_sql, tenant_rls_sql

ID = "2026-12-01T16:10:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "Appointments: no double-booking (exclusion constraint), checks, indexes, RLS; calendar feeds found by token"

STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE appointment ADD CONSTRAINT appointment_ends_after_start CHECK (ends_at > starts_at)",
    "ALTER TABLE appointment ADD CONSTRAINT appointment_type_known CHECK (type IN ('viewing', 'call', 'meeting'))",
    "ALTER TABLE appointment ADD CONSTRAINT appointment_status_known "
    "CHECK (status IN ('scheduled', 'confirmed', 'completed', 'cancelled', 'no_show'))",
    # No agent is booked twice at once: concurrent bookings cannot both commit (the service turns the refusal into a 409).
    "ALTER TABLE appointment ADD CONSTRAINT appointment_agent_free EXCLUDE USING gist "
    "(tenant_id WITH =, agent_id WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (status IN ('scheduled', 'confirmed'))",
    "CREATE INDEX appointment_tenant_starts ON appointment (tenant_id, starts_at, id)",
    "CREATE INDEX appointment_tenant_lead ON appointment (tenant_id, lead_id, starts_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for table in ("appointment", "calendar_feed"):
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)
        # A calendar app fetches a person's feed by its secret token alone, before any tenant is known.
        for statement in system_access_sql("calendar_feed", "SELECT (token_hash, tenant_id, user_id)"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
