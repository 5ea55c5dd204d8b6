"""Analytics: whom each invoice's revenue and each won deal count for, kept on the rows themselves so the figures read
one index range instead of joining every invoice to its deal and every deal to its lead.

* `deal.lead_source`: the deal's lead's source (None without a lead). Set before a deal is written when its lead
  changes; a lead's source changing sets it on the lead's deals.
* `invoice.revenue_deal_id`: the invoice's deal, or for a credit note without one the corrected invoice's;
  `revenue_owner_id`, `revenue_lead_id`, `revenue_source`: that deal's owner, lead and lead's source. Set before an
  invoice is written when its deal or corrected invoice changes; a deal's owner, lead or source changing sets them on
  its invoices and credit notes; an invoice's deal changing sets them again on its credit notes without a deal.

Everything happens in the transaction of the change, so the figures are never behind. A deal or lead deleted outright
sets the rows' keys to null (their foreign keys), which fires the same triggers. Then filled from the rows there are.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T11:21:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "Analytics: revenue attribution kept on deal and invoice by triggers"

STATEMENTS = [
    # A deal's lead's source, looked up when the deal is written with another lead. No row is locked (a lock here
    # and in the invoices' lookup below made deadlocks with the app's own lock order: invoice then deal, lead then
    # stage), so a change committed at the very moment another transaction reads the row can leave the older value
    # until the row changes again (docs/analytics.md, "Speed").
    """
    CREATE OR REPLACE FUNCTION deal_lead_source() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.lead_source := (SELECT l.source FROM lead l WHERE l.tenant_id = NEW.tenant_id AND l.id = NEW.lead_id);
      RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER deal_lead_source_insert BEFORE INSERT ON deal FOR EACH ROW EXECUTE FUNCTION deal_lead_source()",
    "CREATE TRIGGER deal_lead_source_update BEFORE UPDATE OF lead_id ON deal FOR EACH ROW "
    "WHEN (OLD.lead_id IS DISTINCT FROM NEW.lead_id) EXECUTE FUNCTION deal_lead_source()",
    # A lead's source changing: its deals'.
    """
    CREATE OR REPLACE FUNCTION lead_source_to_deals() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE deal SET lead_source = NEW.source
       WHERE tenant_id = NEW.tenant_id AND lead_id = NEW.id AND lead_source IS DISTINCT FROM NEW.source;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER lead_source_to_deals AFTER UPDATE OF source ON lead FOR EACH ROW "
    "WHEN (OLD.source IS DISTINCT FROM NEW.source) EXECUTE FUNCTION lead_source_to_deals()",
    # An invoice's deal (a credit note's corrected invoice's when it has none) and that deal's owner, lead and source,
    # looked up when it is written with another deal or corrected invoice.
    """
    CREATE OR REPLACE FUNCTION invoice_revenue_of() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.revenue_deal_id := CASE WHEN NEW.deal_id IS NOT NULL THEN NEW.deal_id
        ELSE (SELECT o.deal_id FROM invoice o WHERE o.tenant_id = NEW.tenant_id AND o.id = NEW.credit_note_for) END;
      SELECT d.owner_id, d.lead_id, d.lead_source INTO NEW.revenue_owner_id, NEW.revenue_lead_id, NEW.revenue_source
        FROM deal d WHERE d.tenant_id = NEW.tenant_id AND d.id = NEW.revenue_deal_id;
      IF NOT FOUND THEN
        NEW.revenue_deal_id := NULL;
        NEW.revenue_owner_id := NULL;
        NEW.revenue_lead_id := NULL;
        NEW.revenue_source := NULL;
      END IF;
      RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER invoice_revenue_insert BEFORE INSERT ON invoice FOR EACH ROW EXECUTE FUNCTION invoice_revenue_of()",
    "CREATE TRIGGER invoice_revenue_update BEFORE UPDATE OF deal_id, credit_note_for ON invoice FOR EACH ROW "
    "WHEN (OLD.deal_id IS DISTINCT FROM NEW.deal_id OR OLD.credit_note_for IS DISTINCT FROM NEW.credit_note_for) "
    "EXECUTE FUNCTION invoice_revenue_of()",
    # An invoice's deal changing: its credit notes without a deal of their own count for the new one.
    """
    CREATE OR REPLACE FUNCTION invoice_revenue_to_credit_notes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE invoice SET revenue_deal_id = NEW.revenue_deal_id, revenue_owner_id = NEW.revenue_owner_id,
                         revenue_lead_id = NEW.revenue_lead_id, revenue_source = NEW.revenue_source
       WHERE tenant_id = NEW.tenant_id AND credit_note_for = NEW.id AND deal_id IS NULL;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER invoice_revenue_to_credit_notes AFTER UPDATE OF deal_id ON invoice FOR EACH ROW "
    "WHEN (OLD.revenue_deal_id IS DISTINCT FROM NEW.revenue_deal_id) EXECUTE FUNCTION invoice_revenue_to_credit_notes()",
    # A deal's owner, lead or lead's source changing: the invoices and credit notes counting for it.
    """
    CREATE OR REPLACE FUNCTION deal_revenue_to_invoices() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE invoice SET revenue_owner_id = NEW.owner_id, revenue_lead_id = NEW.lead_id, revenue_source = NEW.lead_source
       WHERE tenant_id = NEW.tenant_id AND revenue_deal_id = NEW.id;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER deal_revenue_to_invoices AFTER UPDATE OF owner_id, lead_id, lead_source ON deal FOR EACH ROW "
    "WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.lead_id IS DISTINCT FROM NEW.lead_id"
    " OR OLD.lead_source IS DISTINCT FROM NEW.lead_source) EXECUTE FUNCTION deal_revenue_to_invoices()",
    "CREATE INDEX invoice_tenant_revenue_deal ON invoice (tenant_id, revenue_deal_id) WHERE revenue_deal_id IS NOT NULL",
    # The figures' reads: the period's issued invoices, and its won deals, each from one index alone.
    "CREATE INDEX invoice_tenant_revenue ON invoice (tenant_id, issue_date)"
    " INCLUDE (currency, kind, subtotal, discount_amount, revenue_owner_id, revenue_lead_id, revenue_source)"
    " WHERE status NOT IN ('draft', 'void')",
    "DROP INDEX IF EXISTS deal_tenant_won",
    "CREATE INDEX deal_tenant_won ON deal (tenant_id, closed_at) INCLUDE (owner_id, value, currency, lead_id, lead_source)"
    " WHERE status = 'won'",
    # Fill: deals first (the invoices read them), then invoices and credit notes (a credit note's corrected invoice
    # gives the deal when it has none of its own).
    "UPDATE deal d SET lead_source = l.source FROM lead l WHERE l.tenant_id = d.tenant_id AND l.id = d.lead_id",
    """UPDATE invoice i SET revenue_deal_id = d.id, revenue_owner_id = d.owner_id, revenue_lead_id = d.lead_id,
                            revenue_source = d.lead_source
         FROM invoice r JOIN deal d ON d.tenant_id = r.tenant_id
        WHERE r.tenant_id = i.tenant_id AND r.id = coalesce(i.credit_note_for, i.id)
          AND d.id = CASE WHEN i.deal_id IS NOT NULL THEN i.deal_id ELSE r.deal_id END""",
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
