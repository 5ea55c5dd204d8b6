from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T00:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "The forecast at 100k deals (bench/bench_forecast.py): won deals by closing time, index-only"

# The forecast sums the won deals by month (value, currency, owner) and takes the median time from creation to win;
# both read the tenant's won deals by `closed_at`, index-only with this index (a bitmap heap scan of every won deal
# through deal_tenant_owner before).
STATEMENTS = [
    "CREATE INDEX deal_tenant_status_closed ON deal (tenant_id, status, closed_at) INCLUDE (value, currency, owner_id, created_at)",
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
