"""Piccolo app: every domain's tables, with migrations kept in the top-level migrations/ folder."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

APP_CONFIG = AppConfig(
    app_name="atrium",
    migrations_folder_path=str(MIGRATIONS_DIR),
    table_classes=table_finder(
        modules=[
            "app.accounts.tables",
            "app.audit.tables",
            "app.web.tables",
            "app.jobs.tables",
            "app.leads.tables",
            "app.contacts.tables",
            "app.imports.tables",
        ],
        exclude_imported=True,
    ),
    migration_dependencies=[],
    commands=[],
)
