from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-01T08:31:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "job_progress: row-level security, and the progress of existing imports and exports moved in"

STATEMENTS = [
    "CREATE UNIQUE INDEX job_progress_subject ON job_progress (kind, subject_id)",
    "CREATE INDEX job_progress_tenant ON job_progress (tenant_id, created_at DESC)",
    # Exports: their whole life is the job's.
    "INSERT INTO job_progress (tenant_id, kind, subject_id, status, total, processed, error, created_at, started_at, finished_at) "
    "SELECT tenant_id, 'export', id, status, total_rows, processed_rows, error, created_at, "
    "CASE WHEN status = 'queued' THEN NULL ELSE created_at END, finished_at FROM export_job",
    # Imports: once confirmed (queued and after), the rest is the job's; the wizard keeps its own steps.
    "INSERT INTO job_progress (tenant_id, kind, subject_id, status, total, processed, error, created_at, started_at, finished_at) "
    "SELECT tenant_id, 'import', id, status, total_rows, processed_rows, error, created_at, "
    "CASE WHEN status = 'queued' THEN NULL ELSE created_at END, finished_at FROM import_job "
    "WHERE status IN ('queued', 'running', 'done', 'failed')",
    "UPDATE import_job SET status = 'started' WHERE status IN ('queued', 'running', 'done', 'failed')",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in tenant_rls_sql("job_progress"):
            await engine.run_ddl(statement)
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
