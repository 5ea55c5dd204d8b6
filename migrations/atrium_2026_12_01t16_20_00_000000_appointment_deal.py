"""An appointment's deal is a real reference now that deals exist (the deal gone, the appointment stays without it)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T16:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "appointment.deal_id references deal"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl("UPDATE appointment a SET deal_id = NULL WHERE deal_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM deal d WHERE d.id = a.deal_id)")
        await engine.run_ddl("ALTER TABLE appointment ADD CONSTRAINT appointment_deal_fk FOREIGN KEY (deal_id) REFERENCES deal (id) ON DELETE SET NULL")
        await engine.run_ddl("CREATE INDEX appointment_tenant_deal ON appointment (tenant_id, deal_id) WHERE deal_id IS NOT NULL")

    manager.add_raw(run)
    return manager
