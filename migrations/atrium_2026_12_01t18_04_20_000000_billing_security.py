from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from app.db import system_access_sql, tenant_rls_sql

ID = "2026-12-01T18:04:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "Billing: unique numbers, money rules the database itself keeps (no overpayment), indexes, RLS"

TABLES = ("billing_settings", "invoice_counter", "invoice", "invoice_line", "payment", "expense", "expense_receipt", "invoice_batch")

STATEMENTS = [
    "ALTER TABLE invoice_counter ADD CONSTRAINT invoice_counter_series UNIQUE (tenant_id, series)",
    # A number is given once per tenant, whatever happens to the invoice (a void keeps it).
    "ALTER TABLE invoice ADD CONSTRAINT invoice_number_unique UNIQUE (tenant_id, invoice_number)",
    "ALTER TABLE invoice ADD CONSTRAINT invoice_kind_known CHECK (kind IN ('invoice', 'credit_note'))",
    "ALTER TABLE invoice ADD CONSTRAINT invoice_status_known "
    "CHECK (status IN ('draft', 'sent', 'partially_paid', 'paid', 'overdue', 'void'))",
    "ALTER TABLE invoice ADD CONSTRAINT invoice_due_after_issue CHECK (due_date >= issue_date)",
    # The last line of defence against an overpayment: what was paid and credited never exceeds the total.
    "ALTER TABLE invoice ADD CONSTRAINT invoice_not_overpaid "
    "CHECK (amount_paid >= 0 AND amount_credited >= 0 AND amount_paid + amount_credited <= total_amount)",
    "ALTER TABLE invoice ADD CONSTRAINT invoice_credit_note_for_fk FOREIGN KEY (credit_note_for) REFERENCES invoice (id) ON DELETE RESTRICT",
    "ALTER TABLE payment ADD CONSTRAINT payment_positive CHECK (amount > 0)",
    "ALTER TABLE expense ADD CONSTRAINT expense_not_negative CHECK (amount >= 0 AND tax_amount >= 0)",
    "CREATE INDEX invoice_tenant_issued ON invoice (tenant_id, issue_date DESC, id DESC)",
    "CREATE INDEX invoice_tenant_status_due ON invoice (tenant_id, status, due_date)",
    "CREATE INDEX invoice_tenant_company ON invoice (tenant_id, company_id) WHERE company_id IS NOT NULL",
    "CREATE INDEX invoice_tenant_contact ON invoice (tenant_id, contact_id) WHERE contact_id IS NOT NULL",
    "CREATE INDEX invoice_tenant_deal ON invoice (tenant_id, deal_id) WHERE deal_id IS NOT NULL",
    "CREATE INDEX invoice_credit_notes ON invoice (credit_note_for) WHERE credit_note_for IS NOT NULL",
    "CREATE INDEX invoice_line_invoice ON invoice_line (invoice_id, position)",
    "CREATE INDEX payment_tenant_invoice ON payment (tenant_id, invoice_id, paid_at)",
    "CREATE INDEX payment_tenant_paid ON payment (tenant_id, paid_at)",
    "CREATE INDEX expense_tenant_date ON expense (tenant_id, expense_date DESC, id DESC)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="atrium", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)
        for table in TABLES:
            for statement in tenant_rls_sql(table):
                await engine.run_ddl(statement)
        # The hourly overdue sweep finds the tenants with invoices past due, then works in each tenant's transaction.
        for statement in system_access_sql("invoice", "SELECT (tenant_id, status, due_date)"):
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
