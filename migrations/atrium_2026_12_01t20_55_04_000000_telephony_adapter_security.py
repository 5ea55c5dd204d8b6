"""Telephony adapter: what a provider did with a dial is one of three words."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T20:55:04:000000"
VERSION = "1.38.0"
DESCRIPTION = "Telephony adapter: provider status check"

STATEMENTS = [
    "ALTER TABLE call ADD CONSTRAINT call_provider_status_known "
    "CHECK (provider_status IS NULL OR provider_status IN ('queued', 'accepted', 'failed'))",
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
