from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-11-24T04:22:41:871464"
VERSION = "1.38.0"
DESCRIPTION = "Imports: row-level security and the per-row index"

STATEMENTS = [
    "CREATE UNIQUE INDEX import_row_import_number ON import_row (import_id, row_number)",
    "CREATE INDEX import_job_tenant_created ON import_job (tenant_id, created_at DESC)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for table in ("import_job", "import_row"):
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
