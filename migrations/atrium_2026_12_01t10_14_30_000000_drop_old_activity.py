from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T10:14:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "The lead and contact activity tables, now moved into activity"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)
    manager.drop_table(class_name="LeadActivity", tablename="lead_activity", schema=None)
    manager.drop_table(class_name="ContactActivity", tablename="contact_activity", schema=None)
    return manager
