from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T12:45:14:032696"
VERSION = "1.38.0"
DESCRIPTION = "API keys carry scopes; OAuth clients default to *:read"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="atrium", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="ApiKey",
        tablename="api_key",
        column_name="scopes",
        db_column_name="scopes",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "*:read",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.alter_column(
        table_class_name="OAuthClient",
        tablename="oauth_client",
        column_name="scopes",
        db_column_name="scopes",
        params={"default": "*:read"},
        old_params={"default": "read"},
        column_class=Text,
        old_column_class=Text,
        schema=None,
    )

    return manager
