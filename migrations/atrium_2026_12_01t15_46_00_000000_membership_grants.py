"""What the cross-tenant side of accounts and invitations needs, for the `atrium_system` role (app.db.system_access_sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import system_access_sql

ID = "2026-12-01T15:46:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "atrium_system: accounts and invitation links"

SYSTEM_ACCESS = {
    # Login, registration and accepting an invitation find an account by its address, make one for a new person,
    # rehash its password at login, and remove the one an acceptance made when the acceptance fails.
    "account": "SELECT, INSERT, UPDATE (password_hash), DELETE",
    # An invitation link is opened by its token before anyone knows the tenant.
    "invitation": "SELECT (id, tenant_id, email, full_name, role, expires_at, invited_by, token_hash, accepted_at)",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for table, privileges in SYSTEM_ACCESS.items():
            for statement in system_access_sql(table, privileges):
                await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
