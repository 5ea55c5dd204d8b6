"""Billing: the tenant's billing details, invoices (and credit notes) with their lines and payments, the gapless
number counters, expenses with their receipts, and batches of invoices sent together."""

from __future__ import annotations

from decimal import Decimal

from piccolo.columns import Array, BigInt, BigSerial, Bytea, Date, ForeignKey, Integer, Numeric, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.contacts.tables import Company, Contact
from app.pipeline.tables import Deal
from app.tenancy.tables import Tenant

MONEY = (16, 2)
RATE = (7, 4)  # a fraction: 0.0500 is 5 %
QUANTITY = (14, 4)


class BillingSettings(Table, tablename="billing_settings"):
    """What a tenant's invoices say about it (name, address, tax number, logo) and how they are numbered."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False, unique=True)
    legal_name = Varchar(length=200, default="")  # blank: the workspace's name
    address = Text(default="")
    tax_id = Varchar(length=50, default="")
    email = Varchar(length=254, default="")
    phone = Varchar(length=32, default="")
    currency = Varchar(length=3, default="AED")
    default_tax_rate = Numeric(digits=RATE, default=Decimal(0))
    payment_terms_days = Integer(default=30)
    number_pattern = Varchar(length=60, default="INV-{YYYY}-{NNNN}")
    credit_note_pattern = Varchar(length=60, default="CN-{YYYY}-{NNNN}")
    default_terms = Text(default="")
    logo = Bytea(null=True, default=None)
    logo_type = Varchar(length=20, default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class InvoiceCounter(Table, tablename="invoice_counter"):
    """The last number given in a series (`INV-2026-`): raised in the transaction that creates the invoice, so a
    number is never skipped (a rolled-back creation rolls it back too) nor given twice (the row is locked)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    series = Varchar(length=60)
    last_number = BigInt(default=0)


class Invoice(Table, tablename="invoice"):
    """An invoice or a credit note. Figures are the sums of its lines' rounded figures (app.billing.money); the
    customer's name and address are kept as billed, so the document never changes under the customer's later edits."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    invoice_number = Varchar(length=60)
    kind = Varchar(length=12, default="invoice")  # invoice | credit_note
    status = Varchar(length=20, default="draft")
    company_id = ForeignKey(references=Company, on_delete=OnDelete.set_null, null=True)
    contact_id = ForeignKey(references=Contact, on_delete=OnDelete.set_null, null=True)
    customer_type = Varchar(length=10, default="company")  # company | contact: whom the invoice is addressed to
    customer_name = Varchar(length=200, default="")
    customer_email = Varchar(length=254, default="")
    customer_address = Text(default="")
    deal_id = ForeignKey(references=Deal, on_delete=OnDelete.set_null, null=True)
    credit_note_for = BigInt(null=True, default=None)  # the invoice a credit note corrects (a key of its own migration)
    # Whom the invoice's revenue counts for in analytics: its deal (a credit note without one: the corrected
    # invoice's), that deal's owner and lead, and the lead's source, campaign and `utm_campaign`. Kept by triggers on
    # invoice, deal and lead (migrations/…_revenue_attribution.py), never written by the application, so the figures
    # read one index.
    revenue_deal_id = BigInt(null=True, default=None)
    revenue_owner_id = BigInt(null=True, default=None)
    revenue_lead_id = BigInt(null=True, default=None)
    revenue_source = Varchar(length=50, null=True, default=None)
    revenue_campaign_id = BigInt(null=True, default=None)
    revenue_utm_campaign = Text(null=True, default=None)
    issue_date = Date()
    due_date = Date()
    currency = Varchar(length=3, default="AED")
    description = Varchar(length=500, default="")
    notes = Text(default="")
    terms_conditions = Text(default="")
    subtotal = Numeric(digits=MONEY, default=Decimal(0))
    discount_amount = Numeric(digits=MONEY, default=Decimal(0))
    tax_amount = Numeric(digits=MONEY, default=Decimal(0))
    total_amount = Numeric(digits=MONEY, default=Decimal(0))
    amount_paid = Numeric(digits=MONEY, default=Decimal(0))
    amount_credited = Numeric(digits=MONEY, default=Decimal(0))
    void_reason = Varchar(length=300, null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    paid_at = Timestamptz(null=True, default=None)
    overdue_at = Timestamptz(null=True, default=None)
    voided_at = Timestamptz(null=True, default=None)
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class InvoiceLine(Table, tablename="invoice_line"):
    """A line of an invoice, with its figures rounded to the cent."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    invoice_id = ForeignKey(references=Invoice, on_delete=OnDelete.cascade, null=False)
    position = Integer(default=1)
    description = Varchar(length=500)
    quantity = Numeric(digits=QUANTITY, default=Decimal(1))
    unit_price = Numeric(digits=MONEY, default=Decimal(0))
    discount_rate = Numeric(digits=RATE, default=Decimal(0))
    tax_rate = Numeric(digits=RATE, default=Decimal(0))
    amount = Numeric(digits=MONEY, default=Decimal(0))
    discount_amount = Numeric(digits=MONEY, default=Decimal(0))
    net_amount = Numeric(digits=MONEY, default=Decimal(0))
    tax_amount = Numeric(digits=MONEY, default=Decimal(0))
    total_amount = Numeric(digits=MONEY, default=Decimal(0))


class Payment(Table, tablename="payment"):
    """Money received against an invoice (one of several, for partial payments)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    invoice_id = ForeignKey(references=Invoice, on_delete=OnDelete.restrict, null=False)
    amount = Numeric(digits=MONEY)
    currency = Varchar(length=3)
    payment_method = Varchar(length=40, default="bank_transfer")
    payment_reference = Varchar(length=200, default="")
    paid_at = Timestamptz()
    notes = Text(default="")
    recorded_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Expense(Table, tablename="expense"):
    """Money spent, for the P&L: `amount` before tax, `tax_amount` beside it."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    expense_date = Date()
    category = Varchar(length=60)
    vendor = Varchar(length=200, default="")
    amount = Numeric(digits=MONEY)
    tax_amount = Numeric(digits=MONEY, default=Decimal(0))
    currency = Varchar(length=3)
    note = Text(default="")
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ExpenseReceipt(Table, tablename="expense_receipt"):
    """The scan or PDF of an expense's receipt (one per expense; a new upload replaces it)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    expense_id = ForeignKey(references=Expense, on_delete=OnDelete.cascade, null=False, unique=True)
    filename = Varchar(length=200)
    media_type = Varchar(length=60)
    content = Bytea()
    created_at = Timestamptz(default=TimestamptzNow())


class InvoiceBatch(Table, tablename="invoice_batch"):
    """ "Send every draft of a month": the drafts it took (their ids), sent one by one by a job (app.jobs.progress counts)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    month = Date()  # its first day
    invoice_ids = Array(base_column=BigInt(), default=list)  # the drafts of the month when the batch was asked for
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())


class ExchangeRate(Table, tablename="exchange_rate"):
    """What one unit of a currency is worth in the workspace's own (billing) currency from a day on, as finance keeps
    it: the P&L converts each document at the rate in force on its date."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    currency = Varchar(length=3)
    rate = Numeric(digits=(18, 8))
    effective_on = Date()
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
