from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import APP_ROLE

ID = "2026-12-01T13:01:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "Tenants cannot change their own plan or rate limit: the app role may update only name and slug"

STATEMENTS = [
    f"REVOKE UPDATE ON tenant FROM {APP_ROLE}",
    f"GRANT UPDATE (name, slug) ON tenant TO {APP_ROLE}",
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
