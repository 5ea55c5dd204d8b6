"""My day's call-next queue: an index in the queue's own order over the leads it can hold (open, hot or high-score), so
the queue reads its first page from the index instead of sorting every candidate (bench/workspace_bench.py)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T00:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Call-next queue index"

# The predicate and the order are app.activities.workspace.call_next's, literally (HIGH_SCORE = 60).
STATEMENTS = [
    """CREATE INDEX lead_call_next ON lead (tenant_id, (temperature = 'hot'), coalesce(last_interaction, created_at), id)
       WHERE deleted_at IS NULL AND status NOT IN ('WON', 'LOST') AND (temperature = 'hot' OR hotness_score >= 60)""",
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
