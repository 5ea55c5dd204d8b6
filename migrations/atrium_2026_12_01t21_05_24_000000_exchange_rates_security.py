from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-01T21:05:24:000000"
VERSION = "1.38.0"
DESCRIPTION = "Exchange rates: one rate a currency a day, positive, three-letter codes; RLS"

STATEMENTS = [
    "ALTER TABLE exchange_rate ADD CONSTRAINT exchange_rate_one_a_day UNIQUE (tenant_id, currency, effective_on)",
    "ALTER TABLE exchange_rate ADD CONSTRAINT exchange_rate_positive CHECK (rate > 0)",
    "ALTER TABLE exchange_rate ADD CONSTRAINT exchange_rate_currency_code CHECK (currency ~ '^[A-Z]{3}$')",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for statement in tenant_rls_sql("exchange_rate"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
