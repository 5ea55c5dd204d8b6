from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import APP_ROLE, tenant_rls_sql

ID = "2026-12-01T15:11:15:000000"
VERSION = "1.38.0"
DESCRIPTION = "Every user becomes a global account and its membership of its tenant; invitations under row-level security"

STATEMENTS = [
    # Addresses were unique across tenants, so each user is one account (its password and name move there).
    "INSERT INTO account (email, full_name, password_hash, created_at) SELECT email, full_name, password_hash, created_at FROM app_user ORDER BY id",
    "UPDATE app_user u SET account_id = a.id FROM account a WHERE a.email = u.email",
    "CREATE UNIQUE INDEX app_user_tenant_account ON app_user (tenant_id, account_id)",
    "CREATE UNIQUE INDEX app_user_tenant_email ON app_user (tenant_id, email)",
    "CREATE INDEX invitation_tenant_email ON invitation (tenant_id, email) WHERE accepted_at IS NULL",
    # Accounts (password hashes) are read only in system transactions, never as the app role.
    f"REVOKE ALL ON account FROM {APP_ROLE}",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for statement in tenant_rls_sql("invitation"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
