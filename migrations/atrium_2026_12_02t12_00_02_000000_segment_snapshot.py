"""Forecasting: `segment_snapshot`, a large tenant's customer segment figures as of their last refresh, under
row-level security as every tenant table."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-02T12:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "Forecasting: segment_snapshot RLS"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in tenant_rls_sql("segment_snapshot"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
