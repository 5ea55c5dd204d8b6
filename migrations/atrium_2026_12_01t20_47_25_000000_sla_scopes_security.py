"""SLA policies per category and team queue: one policy per priority, category and team (either may be absent)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T20:47:25:000000"
VERSION = "1.38.0"
DESCRIPTION = "SLA policies per category and team"

STATEMENTS = [
    "DROP INDEX IF EXISTS sla_policy_tenant_priority",
    "CREATE UNIQUE INDEX sla_policy_tenant_scope ON sla_policy (tenant_id, priority, coalesce(category, ''), coalesce(team, ''))",
    "ALTER TABLE sla_policy ADD CONSTRAINT sla_policy_scope_set "
    "CHECK ((category IS NULL OR length(btrim(category)) > 0) AND (team IS NULL OR length(btrim(team)) > 0))",
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
