"""Nurture sequences: row-level security, checks, one active sequence of a type per lead, and the lookups of a lead's
sequences and of a sequence's touchpoints."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import system_access_sql, tenant_rls_sql

ID = "2026-12-01T20:54:11:000000"
VERSION = "1.38.0"
DESCRIPTION = "Nurture sequences: RLS, checks, indexes"

STATEMENTS = [
    "ALTER TABLE nurture_sequence ADD CONSTRAINT nurture_sequence_status CHECK (status IN ('active', 'stopped', 'completed'))",
    "ALTER TABLE nurture_sequence ADD CONSTRAINT nurture_sequence_channel CHECK (channel IN ('email', 'sms'))",
    "CREATE UNIQUE INDEX nurture_sequence_one_active ON nurture_sequence (tenant_id, lead_id, sequence_type) WHERE status = 'active'",
    "CREATE INDEX nurture_sequence_lead ON nurture_sequence (tenant_id, lead_id, started_at DESC)",
    "CREATE INDEX nurture_sequence_due ON nurture_sequence (next_touchpoint_at) WHERE status = 'active'",
    "CREATE INDEX communication_tenant_sequence ON communication (tenant_id, sequence_id) WHERE sequence_id IS NOT NULL",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for statement in tenant_rls_sql("nurture_sequence"):
            await engine.run_ddl(statement)
        # The minute cron finds, across workspaces, active sequences whose touchpoint is overdue (its job lost or never
        # queued) and queues it again in that workspace: only these columns.
        for statement in system_access_sql("nurture_sequence", "SELECT (id, tenant_id, status, touchpoints_sent, next_touchpoint_at)"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
