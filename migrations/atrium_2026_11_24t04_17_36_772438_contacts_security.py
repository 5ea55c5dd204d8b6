from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-11-24T04:17:36:772438"
VERSION = "1.38.0"
DESCRIPTION = "Contacts and companies: RLS, search indexes, lead links; lead_scoped gains the new columns"

STATEMENTS = [
    "ALTER TABLE lead ADD CONSTRAINT lead_contact_fk FOREIGN KEY (contact_id) REFERENCES contact (id) ON DELETE SET NULL",
    "ALTER TABLE lead ADD CONSTRAINT lead_company_fk FOREIGN KEY (company_id) REFERENCES company (id) ON DELETE SET NULL",
    "CREATE INDEX lead_tenant_contact ON lead (tenant_id, contact_id) WHERE contact_id IS NOT NULL",
    "CREATE INDEX lead_tenant_company ON lead (tenant_id, company_id) WHERE company_id IS NOT NULL",
    "CREATE UNIQUE INDEX contact_tenant_email ON contact (tenant_id, lower(email)) WHERE email IS NOT NULL",
    "CREATE INDEX contact_tenant_name ON contact (tenant_id, name, id)",
    "CREATE INDEX contact_tenant_company ON contact (tenant_id, company_id)",
    "CREATE INDEX contact_search_trgm ON contact USING gin ((name || ' ' || coalesce(email, '') || ' ' || coalesce(phone, '')) gin_trgm_ops)",
    "CREATE UNIQUE INDEX company_tenant_name ON company (tenant_id, lower(name))",
    "CREATE INDEX company_search_trgm ON company USING gin ((name || ' ' || coalesce(domain, '')) gin_trgm_ops)",
    "CREATE INDEX contact_activity_contact_created ON contact_activity (tenant_id, contact_id, created_at DESC, id DESC)",
    # SELECT * was expanded when the view was made: recreate it so it has lead's new columns.
    "CREATE OR REPLACE VIEW lead_scoped AS SELECT * FROM lead WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for table in ("company", "contact", "contact_activity"):
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
