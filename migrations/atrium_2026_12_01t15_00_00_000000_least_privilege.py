"""The app stops being a superuser: `atrium_system` (exact cross-tenant grants), `atrium_queue` (SAQ's tables, granted
by app.db.migrate once SAQ made them), no temporary objects or new tables for anyone but the owner.

The login role itself (embedded: `atrium`; an external server: the DATABASE_URL user) is made and given
these roles, without inheriting them, by app.db.migrate.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import QUEUE_ROLE, SYSTEM_ROLE, system_access_sql

ID = "2026-12-01T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Least-privilege roles: atrium_system, atrium_queue; no TEMP or CREATE for PUBLIC"

# What the cross-tenant operations of this version do, table by table (docs/operations.md explains each).
SYSTEM_ACCESS = {
    # Registration makes tenants; credentials find theirs; the operator's CLI lists them and sets rate limits;
    # sweeps go through them.
    "tenant": "SELECT, INSERT, UPDATE (rate_limit)",
    # Login by e-mail, registration's first admin, a token's user; a successful login stamps it (and rehashes).
    "app_user": "SELECT, INSERT, UPDATE (last_login_at, password_hash)",
    # Credentials name their tenant: an API key by its prefix, an OAuth client by its id, a token's revocation.
    "api_key": "SELECT",
    "oauth_client": "SELECT",
    "revoked_token": "SELECT, DELETE",
    "user_session": "SELECT, DELETE",
    # Throttles and buckets belong to no tenant.
    "login_throttle": "SELECT, INSERT, UPDATE, DELETE",
    "rate_limit_bucket": "SELECT, INSERT, UPDATE, DELETE",
    # Failed jobs are recorded by the worker, whatever the tenant (or none).
    "failed_job": "INSERT",
    # The relay turns outbox events into webhook deliveries for every tenant and repairs crashed ones;
    # the live stream reads the events it was notified of.
    "outbox_event": "SELECT, UPDATE (dispatched_at), DELETE",
    "webhook_endpoint": "SELECT (id, tenant_id, active, events)",
    "webhook_delivery": "SELECT, INSERT, UPDATE (status, lease_until), DELETE",
    # Housekeeping deletes what expired.
    "idempotency_record": "SELECT (expires_at), DELETE",
    "notification": "SELECT (read_at), DELETE",
    "export_job": "SELECT (id), DELETE",
    "job_progress": "SELECT (kind, subject_id, finished_at), DELETE",
    "import_job": "SELECT (content, created_at), UPDATE (content)",
    # The conversation-timeout sweep finds the tenants with a lead to remind about.
    "lead": "SELECT (tenant_id, ghost_reminder_sent, deleted_at, status, last_interaction)",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for role in (SYSTEM_ROLE, QUEUE_ROLE):
            await engine.run_ddl(
                f"""DO $$ BEGIN
                      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                        CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
                      END IF;
                    END $$"""
            )
            await engine.run_ddl(f"GRANT USAGE ON SCHEMA public TO {role}")
        # No one but the owner makes objects: no tables in public, no temporary tables or functions (pg_temp).
        await engine.run_ddl("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        await engine.run_ddl("DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); END $$")
        for table, privileges in SYSTEM_ACCESS.items():
            for statement in system_access_sql(table, privileges):
                await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
