"""Request and response types of billing: invoices (NeuraCRM guide §7.1), payments, expenses, the P&L (§7.2),
the billing settings and ROI reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import (
    EXCHANGE_RATE_PATTERN,
    MONEY_PATTERN,
    POSITIVE_MONEY_PATTERN,
    QUANTITY_PATTERN,
    RATE_PATTERN,
    Amount,
    RequestBody,
    ResponseBody,
)
from app.leads.schemas import Currency

InvoiceStatus = Literal["draft", "sent", "partially_paid", "paid", "overdue", "void"]
STATUSES: tuple[str, ...] = InvoiceStatus.__args__  # type: ignore[attr-defined]
# Statuses in which an invoice is owed money: payments are taken, the overdue sweep looks at them.
OPEN_STATUSES = ("sent", "partially_paid", "overdue")
InvoiceKind = Literal["invoice", "credit_note"]
GroupBy = Literal["month", "quarter", "year"]

Id = Annotated[int, msgspec.Meta(ge=1)]
BIGINT_MAX = 2**63 - 1
Money = Annotated[
    Decimal,
    msgspec.Meta(
        description="Amount in the invoice's currency (a JSON number or a decimal string, at most 2 decimals)",
        extra_json_schema={"pattern": MONEY_PATTERN},
    ),
]
PositiveMoney = Annotated[
    Decimal,
    msgspec.Meta(
        description="Amount more than 0 in the invoice's currency (a JSON number or a decimal string, at most 2 decimals)",
        extra_json_schema={"pattern": POSITIVE_MONEY_PATTERN},
    ),
]
Rate = Annotated[
    Decimal,
    msgspec.Meta(
        description="A fraction from 0 to 1 (0.05 is 5 %), at most 4 decimals; a JSON number or a decimal string",
        extra_json_schema={"pattern": RATE_PATTERN},
    ),
]
Quantity = Annotated[
    Decimal,
    msgspec.Meta(description="How many (hours, units), at most 4 decimals", extra_json_schema={"pattern": QUANTITY_PATTERN}),
]
LineText = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern="[^\\s]")]
Description = Annotated[str, msgspec.Meta(max_length=500)]
LongText = Annotated[str, msgspec.Meta(max_length=5_000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=300, pattern="[^\\s]")]
PaymentMethod = Annotated[
    str,
    msgspec.Meta(
        pattern="^[a-z][a-z0-9_]{0,39}$",
        description="How it was paid: bank_transfer, credit_card, debit_card, cash, cheque, online, other (or your own word)",
    ),
]
PAYMENT_METHODS = ("bank_transfer", "credit_card", "debit_card", "cash", "cheque", "online", "other")
Reference = Annotated[str, msgspec.Meta(max_length=200)]
Instant = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 with a zone, e.g. 2026-12-07T15:00:00Z")]
MAX_LINES = 200


class InvoiceLineInput(RequestBody):
    """A line item. `tax_rate` defaults to the invoice's `tax_rate`, else the workspace's default."""

    description: LineText
    quantity: Quantity = Decimal(1)
    unit_price: Money = Decimal(0)
    tax_rate: Rate | None = None
    discount_rate: Rate = Decimal(0)


class InvoiceLine(ResponseBody):
    """A line with its figures, each rounded to the cent: amount = quantity x unit price; net = amount - discount."""

    id: int
    position: int
    description: str
    quantity: Amount
    unit_price: Amount
    discount_rate: Amount
    tax_rate: Amount
    amount: Amount
    discount_amount: Amount
    net_amount: Amount
    tax_amount: Amount
    total_amount: Amount


class TaxBand(ResponseBody):
    """The lines taxed at one rate."""

    tax_rate: Amount
    net_amount: Amount
    tax_amount: Amount


class Payment(ResponseBody):
    """Money received against an invoice."""

    id: int
    invoice_id: int
    amount: Amount
    currency: str
    payment_method: str
    payment_reference: str
    paid_at: datetime
    notes: str
    recorded_by: int | None
    created_at: datetime


class InvoiceSummary(ResponseBody):
    """An invoice in a list: its customer, dates, status and figures."""

    id: int
    invoice_number: str
    kind: str
    status: str
    customer_type: str
    customer_name: str
    customer_account_id: int | None
    contact_id: int | None
    deal_id: int | None
    issue_date: date
    due_date: date
    currency: str
    description: str
    subtotal: Amount
    discount_amount: Amount
    tax_amount: Amount
    total_amount: Amount
    amount_paid: Amount
    amount_credited: Amount
    balance_due: Amount
    is_overdue: bool
    sent_at: datetime | None
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Invoice(ResponseBody):
    """Everything about an invoice (or a credit note): the customer as billed, its lines, tax summary and payments."""

    id: int
    tenant_id: int
    invoice_number: str
    kind: str
    status: str
    customer_type: str
    customer_name: str
    customer_email: str
    customer_address: str
    customer_account_id: int | None
    contact_id: int | None
    deal_id: int | None
    credit_note_for: int | None
    issue_date: date
    due_date: date
    currency: str
    description: str
    notes: str
    terms_conditions: str
    subtotal: Amount
    discount_amount: Amount
    tax_rate: Amount | None
    tax_amount: Amount
    total_amount: Amount
    amount_paid: Amount
    amount_credited: Amount
    balance_due: Amount
    is_overdue: bool
    lines: list[InvoiceLine]
    tax_summary: list[TaxBand]
    payments: list[Payment]
    credit_notes: list[int]
    void_reason: str | None
    sent_at: datetime | None
    paid_at: datetime | None
    overdue_at: datetime | None
    voided_at: datetime | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    pdf_url: str


class InvoiceCreate(RequestBody, kw_only=True):
    """A new draft invoice, numbered at once from the workspace's pattern (`INV-2026-0001`). The customer is a company
    (`customer_account_id`, the guide's name) or a contact (`contact_id`); with only `deal_id`, the deal's company or
    contact. Line items (`lines`), or the guide's single-line form: `subtotal` with `description` (and `tax_rate`)."""

    one_of_required: ClassVar[tuple[str, ...]] = ("customer_account_id", "contact_id", "deal_id")
    not_both: ClassVar[tuple[str, ...]] = ("lines", "subtotal")

    customer_account_id: Id | UnsetType = UNSET
    contact_id: Id | UnsetType = UNSET
    deal_id: Id | UnsetType = UNSET
    issue_date: date | None = None
    due_date: date | None = None
    currency: Currency | None = None
    lines: Annotated[list[InvoiceLineInput], msgspec.Meta(max_length=MAX_LINES)] | None = None
    subtotal: Money | None = None
    tax_rate: Rate | None = None
    description: Description = ""
    notes: LongText = ""
    terms_conditions: LongText | None = None


class InvoiceUpdate(RequestBody, kw_only=True):
    """A change to a draft (a sent invoice is corrected with a credit note). `lines` replaces every line."""

    not_both: ClassVar[tuple[str, ...]] = ("lines", "subtotal")

    customer_account_id: Id | UnsetType | None = UNSET
    contact_id: Id | UnsetType | None = UNSET
    deal_id: Id | UnsetType | None = UNSET
    issue_date: date | UnsetType = UNSET
    due_date: date | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    lines: Annotated[list[InvoiceLineInput], msgspec.Meta(max_length=MAX_LINES)] | UnsetType = UNSET
    subtotal: Money | UnsetType = UNSET
    tax_rate: Rate | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    notes: LongText | UnsetType = UNSET
    terms_conditions: LongText | UnsetType = UNSET


class InvoiceSend(RequestBody, kw_only=True):
    """Where to e-mail the PDF (default: the customer's e-mail address); nothing is mailed without SMTP_URL."""

    to: Annotated[str, msgspec.Meta(max_length=254, pattern="^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$")] | None = None
    message: LongText = ""


class SendResult(ResponseBody):
    """The invoice as sent, and what became of its e-mail: `queued` (mailed by a job), `not_configured` (no SMTP_URL)
    or `no_recipient` (no address for the customer)."""

    invoice: Invoice
    email: str
    emailed_to: str | None


class InvoiceVoid(RequestBody):
    """Why the invoice is void (it keeps its number; payments must not exist: correct a paid invoice with a credit note)."""

    reason: Reason


class PaymentCreate(RequestBody, kw_only=True):
    """A payment received (§7.1 Process Payment): at most the balance due; with `Idempotency-Key`, safe to retry."""

    amount: PositiveMoney
    payment_method: PaymentMethod = "bank_transfer"
    payment_reference: Reference = ""
    paid_at: Instant | None = None
    notes: LongText = ""


class PaymentResult(ResponseBody):
    """The payment recorded and the invoice it was for, as it now stands."""

    payment: Payment
    invoice: InvoiceSummary


class CreditNoteCreate(RequestBody, kw_only=True):
    """A credit note correcting a sent invoice: its own lines, or (without `lines`) the whole balance still owed."""

    reason: Reason
    lines: Annotated[list[InvoiceLineInput], msgspec.Meta(min_length=1, max_length=MAX_LINES)] | None = None


class BatchCreate(RequestBody):
    """Send every draft invoice issued in a month (YYYY-MM), in the background."""

    month: Annotated[str, msgspec.Meta(pattern="^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class Batch(ResponseBody):
    """A batch of invoices being sent: how far it has got."""

    id: int
    month: str
    status: str
    total: int
    processed: int
    error: str
    created_at: datetime


# ----------------------------------------------------------------------------------------------- settings


class BillingSettings(ResponseBody):
    """What invoices say about the workspace, and how they are numbered."""

    legal_name: str
    address: str
    tax_id: str
    email: str
    phone: str
    currency: str
    default_tax_rate: Amount
    payment_terms_days: int
    number_pattern: str
    credit_note_pattern: str
    default_terms: str
    has_logo: bool


Pattern = Annotated[
    str,
    msgspec.Meta(
        min_length=6,
        max_length=60,
        pattern="^[A-Za-z0-9 /._#-]*(\\{(YYYY|YY|MM)\\}[A-Za-z0-9 /._#-]*)*\\{N{3,8}\\}[A-Za-z0-9 /._#-]*$",
        description="Letters, digits and - _ / . # with {YYYY}, {YY} or {MM} and one {NNNN} (the number, 3 to 8 digits, last)",
    ),
]


class BillingSettingsUpdate(RequestBody, kw_only=True):
    """A partial change of the billing settings (the logo has its own upload)."""

    legal_name: Annotated[str, msgspec.Meta(max_length=200)] | UnsetType = UNSET
    address: Annotated[str, msgspec.Meta(max_length=1_000)] | UnsetType = UNSET
    tax_id: Annotated[str, msgspec.Meta(max_length=50)] | UnsetType = UNSET
    email: Annotated[str, msgspec.Meta(max_length=254)] | UnsetType = UNSET
    phone: Annotated[str, msgspec.Meta(max_length=32)] | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    default_tax_rate: Rate | UnsetType = UNSET
    payment_terms_days: Annotated[int, msgspec.Meta(ge=0, le=365)] | UnsetType = UNSET
    number_pattern: Pattern | UnsetType = UNSET
    credit_note_pattern: Pattern | UnsetType = UNSET
    default_terms: LongText | UnsetType = UNSET


# ----------------------------------------------------------------------------------------------- expenses

Category = Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern="[^\\s]", description="e.g. Advertising, Rent, Software")]
EXPENSE_CATEGORIES = (
    "Advertising",
    "Commissions",
    "Office",
    "Professional fees",
    "Rent",
    "Salaries",
    "Software",
    "Travel",
    "Utilities",
    "Other",
)


class Expense(ResponseBody):
    """Money spent: `amount` before tax, `tax_amount` beside it, `total_amount` both."""

    id: int
    expense_date: date
    category: str
    vendor: str
    amount: Amount
    tax_amount: Amount
    total_amount: Amount
    currency: str
    note: str
    receipt_name: str | None
    receipt_url: str | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class ExpenseCreate(RequestBody, kw_only=True):
    """A new expense (its receipt is uploaded to `/v2/expenses/{id}/receipt`)."""

    expense_date: date
    category: Category
    amount: Money
    tax_amount: Money = Decimal(0)
    vendor: Annotated[str, msgspec.Meta(max_length=200)] = ""
    currency: Currency | None = None
    note: LongText = ""


class ExpenseUpdate(RequestBody, kw_only=True):
    """A partial change of an expense."""

    expense_date: date | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    amount: Money | UnsetType = UNSET
    tax_amount: Money | UnsetType = UNSET
    vendor: Annotated[str, msgspec.Meta(max_length=200)] | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    note: LongText | UnsetType = UNSET


# ----------------------------------------------------------------------------------------------- P&L


class CategoryAmount(ResponseBody):
    """Expenses of one category in a period (before tax)."""

    category: str
    amount: Amount


class ProfitLossPeriod(ResponseBody):
    """One period of the P&L (§7.2): revenue invoiced (before tax, credit notes taken off) and collected, expenses by
    category (before tax), and the net."""

    period: str
    start_date: date
    end_date: date
    invoiced: Amount
    invoiced_tax: Amount
    collected: Amount
    expenses: Amount
    expenses_by_category: list[CategoryAmount]
    net_profit: Amount
    net_cash: Amount


class ExchangeRateInput(RequestBody):
    """What one unit of `currency` is worth in the workspace's billing currency from `effective_on` on (a second rate
    for the same day replaces the first)."""

    currency: Currency
    rate: Annotated[
        Decimal,
        msgspec.Meta(
            description="Units of the workspace's currency for one unit of `currency` (more than 0, at most 8 decimals)",
            extra_json_schema={"pattern": EXCHANGE_RATE_PATTERN},
        ),
    ]
    effective_on: date


class ExchangeRate(ResponseBody):
    """A rate finance keeps: one `currency` is worth `rate` of `base_currency` from `effective_on` on."""

    id: int
    currency: str
    base_currency: str
    rate: Amount
    effective_on: date
    created_at: datetime


class RateUsed(ResponseBody):
    """A rate a converted report used (each document is converted at the rate in force on its own date)."""

    currency: str
    rate: Amount
    effective_on: date


class ProfitLoss(ResponseBody):
    """The P&L of a date range in one currency, period by period, with totals that are the sums of the periods; with
    `converted`, documents in other currencies count too, each converted at the rate in force on its date and rounded
    to the cent.

    `invoiced`: invoices issued (not drafts, not void), before tax, less credit notes; `collected`: payments received;
    `expenses`: before tax; `net_profit` = invoiced - expenses; `net_cash` = collected - expenses with their tax."""

    start_date: date
    end_date: date
    group_by: str
    currency: str
    periods: list[ProfitLossPeriod]
    totals: ProfitLossPeriod
    other_currencies: list[str]  # currencies of documents left out (all others; with `converted`, those without a rate)
    converted: bool = False  # documents in other currencies are counted, converted at the rates in `rates_used`
    rates_used: list[RateUsed] = msgspec.field(default_factory=list)


# ----------------------------------------------------------------------------------------------- ROI reports


class RoiAssumptions(ResponseBody):
    """What an ROI report assumes (rates are fractions: 0.05 is 5 %)."""

    price: Amount
    annual_rent: Amount
    service_charges: Amount
    fees_rate: Amount
    vacancy_rate: Amount
    rent_growth: Amount
    appreciation_rate: Amount
    holding_years: int
    loan_to_value: Amount
    interest_rate: Amount
    loan_term_years: int
    selling_cost_rate: Amount
    currency: str


class RoiYear(ResponseBody):
    """One year of holding the property: rent collected, charges, net operating income, the mortgage, the cash flow and
    the value and equity at its end."""

    year: int
    rent: Amount
    service_charges: Amount
    net_operating_income: Amount
    interest: Amount
    principal: Amount
    cash_flow: Amount
    property_value: Amount
    loan_balance: Amount
    equity: Amount


class RoiReport(ResponseBody):
    """The investment case of a lead or a property: the assumptions, each year to the sale, and the returns (rates as
    fractions)."""

    subject: Literal["lead", "property"]
    title: str  # the lead's name or the property's address
    lead_id: int | None
    lead_name: str | None
    property_id: int | None
    rent_basis: str  # where the rent comes from: "your figure", "its rent", the comparable rentals, a gross yield
    assumptions: RoiAssumptions
    fees: Amount
    loan: Amount
    cash_invested: Amount
    monthly_payment: Amount
    years: list[RoiYear]
    sale_price: Amount
    selling_costs: Amount
    sale_proceeds: Amount
    gross_yield: Amount
    net_yield: Amount
    cash_on_cash: Amount | None
    irr: Amount | None
    total_profit: Amount
    equity_multiple: Amount | None
    pdf_url: str
