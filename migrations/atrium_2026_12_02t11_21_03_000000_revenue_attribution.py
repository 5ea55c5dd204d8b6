"""Analytics: whom each invoice's revenue and each won deal count for, kept on the rows themselves so the figures read
one index range instead of joining every invoice to its deal and every deal to its lead.

* `deal.lead_source`, `lead_campaign_id`, `lead_utm_campaign`: the deal's lead's source, campaign and `utm_campaign`
  custom field (None without a lead). Set before a deal is written with another lead; a lead's changing sets them on
  the lead's deals.
* `invoice.revenue_deal_id`: the invoice's deal, or for a credit note without one the corrected invoice's;
  `revenue_owner_id`, `revenue_lead_id`, `revenue_source`, `revenue_campaign_id`, `revenue_utm_campaign`: that deal's
  owner, lead and the lead's fields above. Set before an invoice is written with another deal or corrected invoice; a
  deal's changing sets them on its invoices and credit notes; an invoice's deal changing sets them again on its credit
  notes without a deal.

Everything happens in the transaction of the change, so the figures are never behind. A deal or lead deleted outright
sets the rows' keys to null (their foreign keys), which fires the same triggers. No row is locked: a lock on the deal
or lead read made deadlocks with the app's own lock order (invoice then deal, lead then stage), so a change committed
at the very moment another transaction reads that row can leave the older value until the row changes again
(docs/analytics.md, "Speed"). Then filled from the rows there are.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T11:21:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "Analytics: revenue attribution kept on deal and invoice by triggers"

# A deal's copy of its lead's fields: (deal column, the lead's expression over `l`).
FROM_LEAD = (
    ("lead_source", "l.source"),
    ("lead_campaign_id", "l.campaign_id"),
    ("lead_utm_campaign", "left(nullif(l.custom_fields ->> 'utm_campaign', ''), 200)"),  # indexed: at most 200 characters
)
# An invoice's copy of its deal's: (invoice column, deal column).
FROM_DEAL = (
    ("revenue_owner_id", "owner_id"),
    ("revenue_lead_id", "lead_id"),
    ("revenue_source", "lead_source"),
    ("revenue_campaign_id", "lead_campaign_id"),
    ("revenue_utm_campaign", "lead_utm_campaign"),
)
DEAL_COLUMNS = ", ".join(c for c, _ in FROM_LEAD)
LEAD_VALUES = ", ".join(e for _, e in FROM_LEAD)
REVENUE_COLUMNS = ", ".join(c for c, _ in FROM_DEAL)


def _changed(pairs: tuple[tuple[str, str], ...], old: str, new: str) -> str:
    """SQL: any of the pairs' right-hand values differs between `old` and `new` (row aliases)."""
    return " OR ".join(f"{old}.{right} IS DISTINCT FROM {new}.{right}" for _, right in pairs)


STATEMENTS = [
    # A deal's lead's fields, looked up when the deal is written with another lead.
    f"""
    CREATE OR REPLACE FUNCTION deal_lead_source() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      SELECT {LEAD_VALUES} INTO {", ".join(f"NEW.{c}" for c, _ in FROM_LEAD)}
        FROM lead l WHERE l.tenant_id = NEW.tenant_id AND l.id = NEW.lead_id;
      IF NOT FOUND THEN
        {" ".join(f"NEW.{c} := NULL;" for c, _ in FROM_LEAD)}
      END IF;
      RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER deal_lead_source_insert BEFORE INSERT ON deal FOR EACH ROW EXECUTE FUNCTION deal_lead_source()",
    "CREATE TRIGGER deal_lead_source_update BEFORE UPDATE OF lead_id ON deal FOR EACH ROW "
    "WHEN (OLD.lead_id IS DISTINCT FROM NEW.lead_id) EXECUTE FUNCTION deal_lead_source()",
    # A lead's source, campaign or utm_campaign changing: its deals'.
    f"""
    CREATE OR REPLACE FUNCTION lead_source_to_deals() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE deal d SET ({DEAL_COLUMNS}) = ({", ".join(e.replace("l.", "NEW.", 1) for _, e in FROM_LEAD)})
       WHERE d.tenant_id = NEW.tenant_id AND d.lead_id = NEW.id;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER lead_source_to_deals AFTER UPDATE OF source, campaign_id, custom_fields ON lead FOR EACH ROW "
    "WHEN (OLD.source IS DISTINCT FROM NEW.source OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id"
    " OR OLD.custom_fields ->> 'utm_campaign' IS DISTINCT FROM NEW.custom_fields ->> 'utm_campaign')"
    " EXECUTE FUNCTION lead_source_to_deals()",
    # An invoice's deal (a credit note's corrected invoice's when it has none) and that deal's fields, looked up when
    # it is written with another deal or corrected invoice.
    f"""
    CREATE OR REPLACE FUNCTION invoice_revenue_of() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.revenue_deal_id := CASE WHEN NEW.deal_id IS NOT NULL THEN NEW.deal_id
        ELSE (SELECT o.deal_id FROM invoice o WHERE o.tenant_id = NEW.tenant_id AND o.id = NEW.credit_note_for) END;
      SELECT {", ".join(f"d.{c}" for _, c in FROM_DEAL)} INTO {", ".join(f"NEW.{c}" for c, _ in FROM_DEAL)}
        FROM deal d WHERE d.tenant_id = NEW.tenant_id AND d.id = NEW.revenue_deal_id;
      IF NOT FOUND THEN
        NEW.revenue_deal_id := NULL;
        {" ".join(f"NEW.{c} := NULL;" for c, _ in FROM_DEAL)}
      END IF;
      RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER invoice_revenue_insert BEFORE INSERT ON invoice FOR EACH ROW EXECUTE FUNCTION invoice_revenue_of()",
    "CREATE TRIGGER invoice_revenue_update BEFORE UPDATE OF deal_id, credit_note_for ON invoice FOR EACH ROW "
    "WHEN (OLD.deal_id IS DISTINCT FROM NEW.deal_id OR OLD.credit_note_for IS DISTINCT FROM NEW.credit_note_for) "
    "EXECUTE FUNCTION invoice_revenue_of()",
    # An invoice's deal changing: its credit notes without a deal of their own count for the new one.
    f"""
    CREATE OR REPLACE FUNCTION invoice_revenue_to_credit_notes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE invoice SET (revenue_deal_id, {REVENUE_COLUMNS}) = (NEW.revenue_deal_id, {", ".join(f"NEW.{c}" for c, _ in FROM_DEAL)})
       WHERE tenant_id = NEW.tenant_id AND credit_note_for = NEW.id AND deal_id IS NULL;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER invoice_revenue_to_credit_notes AFTER UPDATE OF deal_id ON invoice FOR EACH ROW "
    "WHEN (OLD.revenue_deal_id IS DISTINCT FROM NEW.revenue_deal_id) EXECUTE FUNCTION invoice_revenue_to_credit_notes()",
    # A deal's owner, lead or lead's fields changing: the invoices and credit notes counting for it.
    f"""
    CREATE OR REPLACE FUNCTION deal_revenue_to_invoices() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE invoice SET ({REVENUE_COLUMNS}) = ({", ".join(f"NEW.{c}" for _, c in FROM_DEAL)})
       WHERE tenant_id = NEW.tenant_id AND revenue_deal_id = NEW.id;
      RETURN NULL;
    END $$
    """,
    f"CREATE TRIGGER deal_revenue_to_invoices AFTER UPDATE OF {', '.join(c for _, c in FROM_DEAL)} ON deal FOR EACH ROW "
    f"WHEN ({_changed(FROM_DEAL, 'OLD', 'NEW')}) EXECUTE FUNCTION deal_revenue_to_invoices()",
    "CREATE INDEX invoice_tenant_revenue_deal ON invoice (tenant_id, revenue_deal_id) WHERE revenue_deal_id IS NOT NULL",
    # The figures' reads: the period's issued invoices, and its won deals, each from one index alone.
    "CREATE INDEX invoice_tenant_revenue ON invoice (tenant_id, issue_date)"
    f" INCLUDE (currency, kind, subtotal, discount_amount, {REVENUE_COLUMNS}) WHERE status NOT IN ('draft', 'void')",
    "DROP INDEX IF EXISTS deal_tenant_won",
    f"CREATE INDEX deal_tenant_won ON deal (tenant_id, closed_at) INCLUDE (owner_id, value, currency, lead_id, {DEAL_COLUMNS})"
    " WHERE status = 'won'",
    # Fill: deals first (the invoices read them), then invoices and credit notes (a credit note's corrected invoice
    # gives the deal when it has none of its own).
    f"UPDATE deal d SET ({DEAL_COLUMNS}) = ({LEAD_VALUES}) FROM lead l WHERE l.tenant_id = d.tenant_id AND l.id = d.lead_id",
    f"""UPDATE invoice i SET (revenue_deal_id, {REVENUE_COLUMNS}) = (d.id, {", ".join(f"d.{c}" for _, c in FROM_DEAL)})
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
