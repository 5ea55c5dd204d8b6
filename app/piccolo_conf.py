"""Piccolo configuration: the engine (its DSN is filled in at start-up by app.db) and app registry."""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine


class AtriumEngine(PostgresEngine):
    """Piccolo's engine without the connection attempt it makes when constructed.

    The DSN is only known once settings are read (and the embedded server started), so the
    version check is skipped here; `app.db.migrate` runs against the real server instead.
    """

    async def check_version(self) -> None:
        return None

    async def prep_database(self) -> None:
        return None


# The DSN is set by app.db.configure_engine() before the first query; Piccolo's CLI
# (migration generation) never connects.
DB = AtriumEngine(config={})

APP_REGISTRY = AppRegistry(apps=["app.piccolo_app"])
