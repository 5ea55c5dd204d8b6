from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T12:45:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "Existing API keys and OAuth clients keep their access: read/write become *:read/*:write"

STATEMENTS = [
    # A write key could always read too.
    "UPDATE api_key SET scopes = CASE WHEN permission = 'write' THEN '*:read *:write' ELSE '*:read' END",
    "UPDATE oauth_client SET scopes = array_to_string(ARRAY("
    "SELECT DISTINCT CASE w WHEN 'read' THEN '*:read' WHEN 'write' THEN '*:write' ELSE w END "
    "FROM unnest(string_to_array(scopes, ' ')) AS w WHERE w <> '' ORDER BY 1), ' ')",
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
