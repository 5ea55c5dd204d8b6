from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import APP_ROLE, tenant_rls_sql

ID = "2026-11-24T03:28:21:281890"
VERSION = "1.38.0"
DESCRIPTION = "Row-level security, the atrium_app role and composite indexes"

TENANT_TABLES = [
    "app_user",
    "api_key",
    "oauth_client",
    "user_session",
    "revoked_token",
    "audit_log",
    "idempotency_record",
    "failed_job",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl(
            f"""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
              END IF;
            END $$;
            """
        )
        # The connecting role switches to the app role with SET LOCAL ROLE inside each tenant transaction.
        await engine.run_ddl(f"GRANT {APP_ROLE} TO CURRENT_USER")
        await engine.run_ddl(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        await engine.run_ddl(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        for statement in tenant_rls_sql("tenant", column="id"):
            await engine.run_ddl(statement)
        for table in TENANT_TABLES:
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)
        await engine.run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS idempotency_record_tenant_key "
            "ON idempotency_record (tenant_id, key)"
        )
        await engine.run_ddl("CREATE INDEX IF NOT EXISTS idempotency_record_expires ON idempotency_record (expires_at)")
        await engine.run_ddl("CREATE INDEX IF NOT EXISTS user_session_expires ON user_session (expires_at)")
        await engine.run_ddl("CREATE INDEX IF NOT EXISTS revoked_token_expires ON revoked_token (expires_at)")
        await engine.run_ddl(
            "CREATE INDEX IF NOT EXISTS audit_log_tenant_created ON audit_log (tenant_id, created_at DESC, id DESC)"
        )
        await engine.run_ddl("CREATE INDEX IF NOT EXISTS failed_job_tenant_failed ON failed_job (tenant_id, failed_at DESC)")

    manager.add_raw(run)
    return manager
