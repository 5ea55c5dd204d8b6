"""The ticket queue at 1M tickets (docs/performance.md): one index range per status and priority in due-time order,
and the search's trigram index without a pending list (a bulk of new tickets made every search scan it)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T21:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Ticket queue indexes: status+priority by due time; trigram index without fastupdate"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS ticket_tenant_status_priority_next_due ON ticket (tenant_id, status, priority, next_due_at, id)",
    # GIN's fast update parks new entries in a pending list every search reads in full until a vacuum merges it (14 ms
    # of a 37 ms search after a bulk load); tickets arrive one at a time, so each goes straight into the index.
    "ALTER INDEX ticket_search_trgm SET (fastupdate = off)",
    "SELECT gin_clean_pending_list('ticket_search_trgm')",  # what is parked already goes in now
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
