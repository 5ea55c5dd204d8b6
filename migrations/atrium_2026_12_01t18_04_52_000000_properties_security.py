from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import tenant_rls_sql

ID = "2026-12-01T18:04:52:000000"
VERSION = "1.38.0"
DESCRIPTION = "Properties and portfolios: checks, indexes for the guide's filters, search and matching, RLS; deals link to properties"

STAGES = "'new', 'outreach', 'qualified', 'negotiation', 'under_contract', 'closed_won', 'closed_lost'"
STATEMENTS = [
    f"ALTER TABLE property ADD CONSTRAINT property_stage_known CHECK (current_stage IN ({STAGES}))",
    "ALTER TABLE property ADD CONSTRAINT property_listing_known "
    "CHECK (listing_status IN ('off_market', 'for_sale', 'for_rent', 'under_offer', 'sold', 'rented'))",
    "ALTER TABLE property ADD CONSTRAINT property_score_range CHECK (bird_dog_score BETWEEN 0 AND 1)",
    "ALTER TABLE property ADD CONSTRAINT property_amounts_positive CHECK (coalesce(price, 0) >= 0 AND coalesce(estimated_value, 0) >= 0)",
    "ALTER TABLE portfolio_reconciliation ADD CONSTRAINT reconciliation_status_known CHECK (validation_status IN ('pass', 'fail'))",
    "ALTER TABLE portfolio_property ADD CONSTRAINT portfolio_property_once UNIQUE (portfolio_id, property_id)",
    # The list's default order and the stage filter (the board's columns are ordered by score within a stage).
    "CREATE INDEX property_tenant_created ON property (tenant_id, created_at DESC, id DESC)",
    "CREATE INDEX property_tenant_stage_score ON property (tenant_id, current_stage, bird_dog_score DESC NULLS LAST, id DESC)",
    "CREATE INDEX property_tenant_assignee ON property (tenant_id, assigned_user_id, created_at DESC)",
    "CREATE INDEX property_tenant_score ON property (tenant_id, bird_dog_score)",
    # Matching: a price range of the tenant's properties.
    "CREATE INDEX property_tenant_price ON property (tenant_id, price) WHERE price IS NOT NULL",
    "CREATE INDEX property_tenant_neighborhood ON property (tenant_id, lower(neighborhood), bedrooms)",
    "CREATE INDEX property_tags ON property USING gin (tags)",
    "CREATE INDEX property_search_trgm ON property USING gin ((address || ' ' || city || ' ' || owner_name) gin_trgm_ops)",
    "CREATE INDEX portfolio_property_portfolio ON portfolio_property (tenant_id, portfolio_id)",
    "CREATE INDEX portfolio_property_property ON portfolio_property (tenant_id, property_id)",
    "CREATE INDEX reconciliation_portfolio ON portfolio_reconciliation (tenant_id, portfolio_id, checked_at DESC)",
    # Deals and appointments named a property by id until properties existed: now a real link.
    "UPDATE deal d SET property_id = NULL "
    "WHERE property_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM property p WHERE p.id = d.property_id)",
    "ALTER TABLE deal ADD CONSTRAINT deal_property_fk FOREIGN KEY (property_id) REFERENCES property (id) ON DELETE SET NULL",
    "CREATE INDEX deal_tenant_property ON deal (tenant_id, property_id) WHERE property_id IS NOT NULL",
    "UPDATE appointment a SET property_id = NULL "
    "WHERE property_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM property p WHERE p.id = a.property_id)",
    "ALTER TABLE appointment ADD CONSTRAINT appointment_property_fk FOREIGN KEY (property_id) REFERENCES property (id) ON DELETE SET NULL",
    "CREATE INDEX appointment_tenant_property ON appointment (tenant_id, property_id) WHERE property_id IS NOT NULL",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for table in ("property", "portfolio", "portfolio_property", "portfolio_reconciliation"):
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
