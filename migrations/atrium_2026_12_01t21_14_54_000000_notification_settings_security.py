"""Notification settings: row-level security, one row per person; the due-task notice's index and what the crons read
across tenants (which tenants have tasks coming due, which people want a digest)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import system_access_sql, tenant_rls_sql

ID = "2026-12-01T21:14:54:000000"
VERSION = "1.38.0"
DESCRIPTION = "Notification settings: RLS, unique per person; due-task notices"

STATEMENTS = [
    "CREATE UNIQUE INDEX notification_setting_user ON notification_setting (tenant_id, user_id)",
    "CREATE INDEX task_due_notice ON task (due_at) WHERE NOT done AND due_notified_at IS NULL AND owner_id IS NOT NULL",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for statement in tenant_rls_sql("notification_setting"):
            await engine.run_ddl(statement)
        # The crons find the tenants to visit; the work itself runs in each tenant.
        for statement in system_access_sql("task", "SELECT (tenant_id, due_at, done, due_notified_at, owner_id)"):
            await engine.run_ddl(statement)
        for statement in system_access_sql("notification_setting", "SELECT (tenant_id, digest, digest_sent_on)"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
