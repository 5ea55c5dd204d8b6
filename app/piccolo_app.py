"""Piccolo app: every domain's tables, with migrations kept in the top-level migrations/ folder."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

from app.domains import table_modules

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

APP_CONFIG = AppConfig(
    app_name="atrium",
    migrations_folder_path=str(MIGRATIONS_DIR),
    # Every installed package's tables.py (app.domains.INSTALLED).
    table_classes=table_finder(modules=table_modules(), exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
