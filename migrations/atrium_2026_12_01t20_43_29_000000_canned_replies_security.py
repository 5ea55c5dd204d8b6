"""Canned replies: row-level security, checks and the list's index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-01T20:43:29:000000"
VERSION = "1.38.0"
DESCRIPTION = "Canned replies: RLS, checks, index"

STATEMENTS = [
    "ALTER TABLE canned_reply ADD CONSTRAINT canned_reply_title_set CHECK (length(btrim(title)) > 0)",
    "ALTER TABLE canned_reply ADD CONSTRAINT canned_reply_body_size CHECK (length(body) BETWEEN 1 AND 20000)",
    "CREATE INDEX canned_reply_tenant_title ON canned_reply (tenant_id, title, id)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for statement in tenant_rls_sql("canned_reply"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
