"""Saved views: row-level security, one name per person and screen, the list's index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-01T21:05:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "Saved views: RLS, unique names, index"

STATEMENTS = [
    "CREATE UNIQUE INDEX saved_view_name ON saved_view (tenant_id, user_id, screen, lower(name))",
    "CREATE INDEX saved_view_shared ON saved_view (tenant_id, screen) WHERE shared",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for statement in tenant_rls_sql("saved_view"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
