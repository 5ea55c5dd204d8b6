from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-11-24T04:34:36:457847"
VERSION = "1.38.0"
DESCRIPTION = "Background exports: row-level security"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl("CREATE INDEX export_job_tenant_created ON export_job (tenant_id, created_at DESC)")
        for statement in tenant_rls_sql("export_job"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
