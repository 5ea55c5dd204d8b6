from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import APP_ROLE

ID = "2026-12-01T13:09:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "Admins set their tenant's time zone: the app role may update tenant.time_zone too (never plan or rate limit)"

STATEMENTS = [
    f"GRANT UPDATE (time_zone) ON tenant TO {APP_ROLE}",
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
