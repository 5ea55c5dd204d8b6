"""Bulk operations over matching leads: row-level security, the action's check, and the index a person's list reads."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import system_access_sql, tenant_rls_sql

ID = "2026-12-01T23:32:21:000000"
VERSION = "1.38.0"
DESCRIPTION = "Lead bulk operations: RLS, checks, housekeeping grant"

STATEMENTS = [
    "ALTER TABLE lead_bulk_operation ADD CONSTRAINT lead_bulk_operation_action CHECK (action IN ('assign', 'delete'))",
    "CREATE INDEX lead_bulk_operation_tenant ON lead_bulk_operation (tenant_id, created_at DESC)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for statement in tenant_rls_sql("lead_bulk_operation"):
            await engine.run_ddl(statement)
        # Housekeeping deletes finished operations across tenants (the leads domain's cleanup).
        for statement in system_access_sql("lead_bulk_operation", "SELECT (id), DELETE"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
