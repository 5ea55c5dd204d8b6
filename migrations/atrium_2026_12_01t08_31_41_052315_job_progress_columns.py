from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T08:31:41:052315"
VERSION = "1.38.0"
DESCRIPTION = "True"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="atrium", description=DESCRIPTION
    )

    manager.drop_column(
        table_class_name="ExportJob",
        tablename="export_job",
        column_name="error",
        db_column_name="error",
        schema=None,
    )

    manager.drop_column(
        table_class_name="ExportJob",
        tablename="export_job",
        column_name="finished_at",
        db_column_name="finished_at",
        schema=None,
    )

    manager.drop_column(
        table_class_name="ExportJob",
        tablename="export_job",
        column_name="processed_rows",
        db_column_name="processed_rows",
        schema=None,
    )

    manager.drop_column(
        table_class_name="ExportJob",
        tablename="export_job",
        column_name="status",
        db_column_name="status",
        schema=None,
    )

    manager.drop_column(
        table_class_name="ExportJob",
        tablename="export_job",
        column_name="total_rows",
        db_column_name="total_rows",
        schema=None,
    )

    manager.drop_column(
        table_class_name="ImportJob",
        tablename="import_job",
        column_name="error",
        db_column_name="error",
        schema=None,
    )

    manager.drop_column(
        table_class_name="ImportJob",
        tablename="import_job",
        column_name="finished_at",
        db_column_name="finished_at",
        schema=None,
    )

    manager.drop_column(
        table_class_name="ImportJob",
        tablename="import_job",
        column_name="processed_rows",
        db_column_name="processed_rows",
        schema=None,
    )

    return manager
