from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import APP_ROLE

ID = "2026-11-24T03:57:34:973246"
VERSION = "1.38.0"
DESCRIPTION = "lead_scoped: the tenant's leads as a view the planner can index-search"

# Under row-level security PostgreSQL evaluates the policy before any operator that is not
# LEAKPROOF, so ILIKE (pg_trgm) and other such conditions cannot use an index on lead. This view,
# owned by the schema owner, applies the very same tenant predicate itself, so list, search and
# export queries keep tenant isolation and get their indexes. Without app.tenant_id it shows no
# row. Recreate it (SELECT *) whenever lead gains a column.
STATEMENTS = [
    "CREATE VIEW lead_scoped AS SELECT * FROM lead WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint",
    f"GRANT SELECT ON lead_scoped TO {APP_ROLE}",
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
