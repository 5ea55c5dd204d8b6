from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T10:14:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "Leads: an index for the conversation-timeout cron (open leads not yet reported, by last interaction)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl(
            "CREATE INDEX lead_conversation_timeout ON lead (tenant_id, last_interaction) "
            "WHERE NOT ghost_reminder_sent AND deleted_at IS NULL AND status NOT IN ('WON', 'LOST')"
        )

    manager.add_raw(run)
    return manager
