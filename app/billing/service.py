"""Invoices, credit notes and payments: rules and queries (no HTTP). Every function takes the caller's `TenantScope`.

Numbers. An invoice is numbered when it is created, from the workspace's pattern (`INV-{YYYY}-{NNNN}`): the
counter of its series (`INV-2026-#`) is raised by one upsert in the creating transaction, which locks the
counter's row until the transaction ends. Concurrent creations wait for each other, so numbers are consecutive
and never given twice, and a creation that fails rolls its number back with everything else: no gap. A number
is never reused: drafts cannot be deleted, only voided, and a void invoice keeps its number.

Money. Figures are Decimal, rounded per line (app.billing.money) and stored; an invoice's figures are its lines'
sums. What was paid and credited never exceeds the total: the service refuses an overpayment with nothing
changed (the invoice's row is locked while it decides), and a database check refuses it again.

Statuses. draft → sent (`send`) → partially_paid → paid (payments); sent or partially paid past its due date →
overdue (the hourly sweep, in the workspace's time zone); void (with a reason) from any status without payments.
Only drafts change; a sent invoice is corrected with a credit note, which takes its amount off the balance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from msgspec import UNSET
from saq import Queue

from app.billing import money, policy, schemas
from app.billing.tables import InvoiceLine
from app.core.errors import Conflict, ResourceNotFound, ValidationFailed, unknown_reference
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.core.schemas import MAX_MONEY, MONEY_PATTERN, POSITIVE_MONEY_PATTERN, QUANTITY_PATTERN, RATE_PATTERN, checked_decimal
from app.core.validation import parse_list
from app.core.versions import require_current
from app.db import TenantScope, fetch, fetch_as, like_pattern, tenant_transaction
from app.events.service import Subject, emit
from app.settings import base_url
from app.settings import current as current_settings

SORTS = {
    "issue_date": "i.issue_date",
    "due_date": "i.due_date",
    "created_at": "i.created_at",
    "invoice_number": "i.invoice_number",
    "total_amount": "i.total_amount",
    "balance_due": "(i.total_amount - i.amount_paid - i.amount_credited)",
}
# Dates an invoice may carry: a typo like 0202 or 20260 is refused, not stored.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)
DEFAULT_LINE = "Services"

# The workspace's today, in its own time zone (an invoice is overdue the day after its due date, there). The tenant is
# the transaction's, so PostgreSQL works it out once per statement, not once per invoice.
TODAY = "(now() AT TIME ZONE (SELECT time_zone FROM tenant WHERE id = NULLIF(current_setting('app.tenant_id', true), '')::bigint))::date"
BALANCE = "CASE WHEN i.kind = 'credit_note' THEN 0 ELSE i.total_amount - i.amount_paid - i.amount_credited END"
IS_OVERDUE = f"(i.kind = 'invoice' AND i.status IN ('sent', 'partially_paid', 'overdue') AND {BALANCE} > 0 AND i.due_date < {TODAY})"
_SUMMARY = f"""
SELECT i.id, i.invoice_number, i.kind, i.status, i.customer_type, i.customer_name, i.company_id AS customer_account_id,
       i.contact_id, i.deal_id, i.issue_date, i.due_date, i.currency, i.description, i.subtotal, i.discount_amount,
       i.tax_amount, i.total_amount, i.amount_paid, i.amount_credited, {BALANCE} AS balance_due, {IS_OVERDUE} AS is_overdue,
       i.sent_at, i.paid_at, i.created_at, i.updated_at
  FROM invoice i"""
_DETAIL = f"""
SELECT i.id, i.tenant_id, i.invoice_number, i.kind, i.status, i.customer_type, i.customer_name, i.customer_email,
       i.customer_address, i.company_id AS customer_account_id, i.contact_id, i.deal_id, i.credit_note_for, i.issue_date,
       i.due_date, i.currency, i.description, i.notes, i.terms_conditions, i.subtotal, i.discount_amount, i.tax_amount,
       i.total_amount, i.amount_paid, i.amount_credited, {BALANCE} AS balance_due, {IS_OVERDUE} AS is_overdue,
       i.void_reason, i.sent_at, i.paid_at, i.overdue_at, i.voided_at, i.created_by, i.created_at, i.updated_at
  FROM invoice i"""
_LINES = """SELECT id, position, description, quantity, unit_price, discount_rate, tax_rate, amount, discount_amount, net_amount,
                   tax_amount, total_amount FROM invoice_line WHERE tenant_id = $1 AND invoice_id = $2 ORDER BY position, id"""
_PAYMENTS = """SELECT id, invoice_id, amount, currency, payment_method, payment_reference, paid_at, notes, recorded_by, created_at
                 FROM payment WHERE tenant_id = $1 AND invoice_id = $2 ORDER BY paid_at, id"""


def pdf_url(invoice_id: int) -> str:
    """Where the invoice's PDF is downloaded through the API."""
    return f"{base_url()}/v2/invoices/{invoice_id}/pdf"


def invoice_url(invoice_id: int) -> str:
    """Where a person opens the invoice."""
    return f"{base_url()}/invoices/{invoice_id}"


# --------------------------------------------------------------------------- settings and numbering

_SETTINGS_COLUMNS = """legal_name, address, tax_id, email, phone, currency, default_tax_rate, payment_terms_days, number_pattern,
                       credit_note_pattern, default_terms, logo IS NOT NULL AS has_logo"""


async def read_settings(scope: TenantScope) -> schemas.BillingSettings:
    """The workspace's billing settings (the defaults until someone saves them), inside a tenant transaction."""
    rows = await fetch(f"SELECT {_SETTINGS_COLUMNS} FROM billing_settings WHERE tenant_id = $1", scope.tenant_id)
    if rows:
        return msgspec.convert(rows[0], schemas.BillingSettings)
    return schemas.BillingSettings(
        legal_name="",
        address="",
        tax_id="",
        email="",
        phone="",
        currency="AED",
        default_tax_rate=Decimal("0.0000"),
        payment_terms_days=30,
        number_pattern="INV-{YYYY}-{NNNN}",
        credit_note_pattern="CN-{YYYY}-{NNNN}",
        default_terms="",
        has_logo=False,
    )


async def seller_name(scope: TenantScope) -> str:
    """The name the workspace's invoices carry: its legal name, else the workspace's name."""
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            "SELECT coalesce(nullif(b.legal_name, ''), t.name) AS name FROM tenant t LEFT JOIN billing_settings b ON b.tenant_id = t.id "
            "WHERE t.id = $1",
            scope.tenant_id,
        )
    return str(rows[0]["name"]) if rows else ""


_SEQUENCE = re.compile(r"\{(N{3,8})\}")


def _dated(pattern: str, day: date) -> str:
    return pattern.replace("{YYYY}", f"{day.year:04d}").replace("{YY}", f"{day.year % 100:02d}").replace("{MM}", f"{day.month:02d}")


def series_of(pattern: str, day: date) -> str:
    """The series a number of `pattern` issued on `day` belongs to (`INV-2026-#`): each counts from 1."""
    return _SEQUENCE.sub("#", _dated(pattern, day))


def format_number(pattern: str, day: date, n: int) -> str:
    """`INV-{YYYY}-{NNNN}`, 2026-03-01, 7 → `INV-2026-0007` (a number past the padding keeps every digit)."""
    return _SEQUENCE.sub(lambda m: f"{n:0{len(m.group(1))}d}", _dated(pattern, day))


async def _next_number(scope: TenantScope, pattern: str, day: date) -> str:
    """The next number of the series, in the caller's transaction: the counter's row stays locked until it ends."""
    rows = await fetch(
        """INSERT INTO invoice_counter (tenant_id, series, last_number) VALUES ($1, $2, 1)
           ON CONFLICT (tenant_id, series) DO UPDATE SET last_number = invoice_counter.last_number + 1 RETURNING last_number""",
        scope.tenant_id,
        series_of(pattern, day),
    )
    return format_number(pattern, day, int(rows[0]["last_number"]))


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class InvoiceFilters:
    """Filters of `GET /v2/invoices` and of the invoice list screen."""

    status: tuple[str, ...] = ()
    customer_account_id: int | None = None
    contact_id: int | None = None
    deal_id: int | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    overdue: bool | None = None
    q: str | None = None
    kind: str | None = None


def parse_statuses(raw: str | None) -> tuple[str, ...]:
    """`sent,overdue` → a tuple of statuses; unknown values are a validation error; blank is no filter."""
    return parse_list(raw, schemas.STATUSES)


def _where(scope: TenantScope, filters: InvoiceFilters) -> tuple[str, list[Any]]:
    clauses, args = ["i.tenant_id = $1"], [scope.tenant_id]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if filters.status:
        add("i.status = ANY(?::text[])", list(filters.status))
    if filters.customer_account_id is not None:
        add("i.company_id = ?", filters.customer_account_id)
    if filters.contact_id is not None:
        add("i.contact_id = ?", filters.contact_id)
    if filters.deal_id is not None:
        add("i.deal_id = ?", filters.deal_id)
    if filters.issued_from is not None:
        add("i.issue_date >= ?", filters.issued_from)
    if filters.issued_to is not None:
        add("i.issue_date <= ?", filters.issued_to)
    if filters.kind is not None:
        add("i.kind = ?", filters.kind)
    if filters.overdue is not None:
        clauses.append(IS_OVERDUE if filters.overdue else f"NOT {IS_OVERDUE}")
    if filters.q:
        add("(i.invoice_number || ' ' || i.customer_name || ' ' || i.description) ILIKE ?", like_pattern(filters.q))
    return " AND ".join(clauses), args


async def list_invoices(scope: TenantScope, filters: InvoiceFilters, query: ListQuery) -> Page[schemas.InvoiceSummary]:
    """A page of invoices (and credit notes), newest issue first unless `sort` says otherwise."""
    policy.VIEW.require(scope)
    order = sort_order(query.sort, SORTS, "-issue_date")
    where, args = _where(scope, filters)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch_as(
            schemas.InvoiceSummary,
            f"{_SUMMARY} WHERE {where} ORDER BY {order.sql(tiebreak='i.id')} LIMIT {query.limit} OFFSET {query.offset}",
            *args,
        )
        if 0 < len(rows) < query.limit or (not rows and query.offset == 0):
            total = query.offset + len(rows)
        else:
            total = int((await fetch(f"SELECT count(*) AS n FROM invoice i WHERE {where}", *args))[0]["n"])
    return page_of(schemas.InvoiceSummary, rows, query, total)


@dataclass(frozen=True, slots=True)
class ListTotals:
    """What the invoices a list shows add up to, in one currency: issued ones (not drafts, not void; credit notes taken
    off), what is still owed on them and how many are overdue, and how many drafts wait."""

    currency: str
    count: int
    drafts: int
    total_amount: Decimal
    balance_due: Decimal
    overdue: int


async def list_totals(scope: TenantScope, filters: InvoiceFilters) -> list[ListTotals]:
    """The totals of every invoice matching the filters (not only the page shown), one row per currency."""
    policy.VIEW.require(scope)
    where, args = _where(scope, filters)
    issued = "i.status NOT IN ('draft', 'void')"
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            f"""SELECT i.currency, count(*) AS count, count(*) FILTER (WHERE i.status = 'draft') AS drafts,
                       coalesce(sum(CASE WHEN i.kind = 'credit_note' THEN -i.total_amount ELSE i.total_amount END)
                                FILTER (WHERE {issued}), 0) AS total_amount,
                       coalesce(sum({BALANCE}) FILTER (WHERE {issued}), 0) AS balance_due,
                       count(*) FILTER (WHERE {IS_OVERDUE}) AS overdue
                  FROM invoice i WHERE {where} GROUP BY i.currency ORDER BY count(*) DESC, i.currency""",
            *args,
        )
    return [ListTotals(**row) for row in rows]


async def read_invoice(scope: TenantScope, invoice_id: int, *, lock: bool = False) -> schemas.Invoice:
    """One invoice with its lines, tax summary, payments and credit notes, in the caller's tenant transaction."""
    if lock:
        await fetch("SELECT 1 FROM invoice WHERE tenant_id = $1 AND id = $2 FOR UPDATE", scope.tenant_id, invoice_id)
    rows = await fetch(f"{_DETAIL} WHERE i.tenant_id = $1 AND i.id = $2", scope.tenant_id, invoice_id)
    if not rows:
        raise ResourceNotFound("Invoice not found", details={"invoice_id": invoice_id})
    lines = await fetch(_LINES, scope.tenant_id, invoice_id)
    payments = await fetch(_PAYMENTS, scope.tenant_id, invoice_id)
    credits = await fetch("SELECT id FROM invoice WHERE tenant_id = $1 AND credit_note_for = $2 ORDER BY id", scope.tenant_id, invoice_id)
    figures = [
        (
            line["tax_rate"],
            money.LineFigures(line["amount"], line["discount_amount"], line["net_amount"], line["tax_amount"], line["total_amount"]),
        )
        for line in lines
    ]
    summary = money.totals(figures).tax_summary
    rates = {line["tax_rate"] for line in lines}
    return msgspec.convert(
        {
            **rows[0],
            "lines": lines,
            "payments": payments,
            "credit_notes": [c["id"] for c in credits],
            "tax_summary": [{"tax_rate": b.tax_rate, "net_amount": b.net_amount, "tax_amount": b.tax_amount} for b in summary],
            "tax_rate": next(iter(rates)) if len(rates) == 1 else None,
            "pdf_url": pdf_url(invoice_id),
        },
        schemas.Invoice,
    )


async def get_invoice(scope: TenantScope, invoice_id: int) -> schemas.Invoice:
    """One invoice (404 for other tenants' ids)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await read_invoice(scope, invoice_id)


async def _summary(scope: TenantScope, invoice_id: int) -> schemas.InvoiceSummary:
    rows = await fetch_as(schemas.InvoiceSummary, f"{_SUMMARY} WHERE i.tenant_id = $1 AND i.id = $2", scope.tenant_id, invoice_id)
    if not rows:
        raise ResourceNotFound("Invoice not found", details={"invoice_id": invoice_id})
    return rows[0]


# --------------------------------------------------------------------------- checks


def _check_date(field: str, value: date | None) -> None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValidationFailed(
            f"Invalid {field}: a date from {EARLIEST} to {LATEST}",
            details={"field": field, "provided": value.isoformat(), "expected": f"a date from {EARLIEST} to {LATEST}", "reason": "range"},
            human="Enter a date between 1900 and 2999",
        )


def _check_dates(issue: date, due: date) -> None:
    _check_date("issue_date", issue)
    _check_date("due_date", due)
    if due < issue:
        raise ValidationFailed(
            "Invalid due_date: on or after issue_date",
            # `reason`: each date is valid alone; only the pair breaks the rule.
            details={"field": "due_date", "provided": due.isoformat(), "expected": "a date on or after issue_date", "reason": "range"},
            human="The due date cannot be before the issue date",
        )


@dataclass(frozen=True, slots=True)
class Customer:
    """Whom an invoice is addressed to, as it will be printed."""

    type: str
    company_id: int | None
    contact_id: int | None
    name: str
    email: str
    address: str


async def _customer(scope: TenantScope, company_id: int | None, contact_id: int | None, deal_id: int | None) -> Customer:
    """The customer named (a company, a contact, or both: the company, for the attention of the contact), else the deal's."""
    for field, value in (("customer_account_id", company_id), ("contact_id", contact_id), ("deal_id", deal_id)):
        if value is not None and value > schemas.BIGINT_MAX:
            raise unknown_reference(field, value, field.removesuffix("_id").replace("customer_account", "compan").rstrip("_") or "record")
    if deal_id is not None:
        deal = await fetch("SELECT company_id, contact_id FROM deal WHERE tenant_id = $1 AND id = $2", scope.tenant_id, deal_id)
        if not deal:
            raise unknown_reference("deal_id", deal_id, "deal")
        if company_id is None and contact_id is None:
            company_id, contact_id = deal[0]["company_id"], deal[0]["contact_id"]
    contact = None
    if contact_id is not None:
        found = await fetch(
            """SELECT c.name, coalesce(c.email, '') AS email, c.company_id, coalesce(co.address, '') AS address
                 FROM contact c LEFT JOIN company co ON co.id = c.company_id AND co.tenant_id = c.tenant_id
                WHERE c.tenant_id = $1 AND c.id = $2""",
            scope.tenant_id,
            contact_id,
        )
        if not found:
            raise unknown_reference("contact_id", contact_id, "contact")
        contact = found[0]
    if company_id is not None:
        found = await fetch(
            "SELECT name, coalesce(address, '') AS address FROM company WHERE tenant_id = $1 AND id = $2", scope.tenant_id, company_id
        )
        if not found:
            raise unknown_reference("customer_account_id", company_id, "company")
        company = found[0]
        address = company["address"] + (f"\nAttn: {contact['name']}" if contact else "")
        return Customer("company", company_id, contact_id, company["name"], contact["email"] if contact else "", address.strip())
    if contact is not None:
        return Customer("contact", None, contact_id, contact["name"], contact["email"], contact["address"])
    raise ValidationFailed(
        "Invalid customer: name a company (customer_account_id) or a contact (contact_id), or a deal that has one",
        # `reason`: the deal exists but has neither a company nor a contact: a fact of the data.
        details={"field": "customer_account_id", "expected": "the id of a company or a contact", "reason": "missing_customer"},
        human="Choose the customer: a company or a contact",
    )


def _check_line(n: int, line: schemas.InvoiceLineInput) -> None:
    checked_decimal(f"lines[{n}].quantity", line.quantity, QUANTITY_PATTERN, noun="quantity", human="Enter a quantity, like 1 or 2.5")
    checked_decimal(f"lines[{n}].unit_price", line.unit_price, MONEY_PATTERN, noun="amount", human="Enter a price, like 1500 or 1500.50")
    checked_decimal(f"lines[{n}].tax_rate", line.tax_rate, RATE_PATTERN, noun="rate", human="Enter a tax rate from 0 to 100 %")
    checked_decimal(f"lines[{n}].discount_rate", line.discount_rate, RATE_PATTERN, noun="rate", human="Enter a discount from 0 to 100 %")


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A line as it will be stored: what was asked and its rounded figures."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_rate: Decimal
    tax_rate: Decimal
    figures: money.LineFigures


def price_lines(lines: Sequence[schemas.InvoiceLineInput], default_tax_rate: Decimal) -> list[PricedLine]:
    """Check and price every line (its tax rate defaults to `default_tax_rate`)."""
    priced = []
    for n, line in enumerate(lines):
        _check_line(n, line)
        rate = line.tax_rate if line.tax_rate is not None else default_tax_rate
        figures = money.line_figures(line.quantity, line.unit_price, line.discount_rate, rate)
        priced.append(PricedLine(line.description.strip(), line.quantity, line.unit_price, line.discount_rate, rate, figures))
    return priced


def _single_line(subtotal: Decimal, description: str, tax_rate: Decimal | None) -> list[schemas.InvoiceLineInput]:
    """The guide's single-line form (`subtotal`, `tax_rate`, `description`) as one line."""
    checked_decimal("subtotal", subtotal, MONEY_PATTERN, noun="amount", human="Enter an amount, like 10000 or 10000.50")
    return [schemas.InvoiceLineInput(description=description.strip() or DEFAULT_LINE, unit_price=subtotal, tax_rate=tax_rate)]


def _check_money_total(totals: money.Totals) -> None:
    """Every stored figure fits (the subtotal is at least each line's amount, the total at least each line's total)."""
    if max(totals.subtotal, totals.total_amount) > MAX_MONEY:
        raise ValidationFailed(
            "Invalid lines: the invoice's total is over 99999999999999.99",
            details={"field": "lines", "expected": "lines adding up to at most 99999999999999.99", "reason": "range"},
            human="The invoice's total is too large",
        )


async def _store_lines(scope: TenantScope, invoice_id: int, lines: list[PricedLine]) -> money.Totals:
    """Replace the invoice's lines with `lines` (one statement) and write its totals; returns them."""
    result = money.totals((line.tax_rate, line.figures) for line in lines)
    _check_money_total(result)
    await InvoiceLine.delete().where((InvoiceLine.tenant_id == scope.tenant_id) & (InvoiceLine.invoice_id == invoice_id))
    if lines:
        await fetch(
            """INSERT INTO invoice_line (tenant_id, invoice_id, position, description, quantity, unit_price, discount_rate, tax_rate,
                                         amount, discount_amount, net_amount, tax_amount, total_amount)
               SELECT $1, $2, l.n, l.description, l.quantity, l.unit_price, l.discount_rate, l.tax_rate, l.amount, l.discount_amount,
                      l.net_amount, l.tax_amount, l.total_amount
                 FROM unnest($3::text[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[],
                             $10::numeric[], $11::numeric[], $12::numeric[]) WITH ORDINALITY
                      AS l(description, quantity, unit_price, discount_rate, tax_rate, amount, discount_amount, net_amount, tax_amount,
                           total_amount, n)""",
            scope.tenant_id,
            invoice_id,
            [line.description for line in lines],
            [line.quantity for line in lines],
            [line.unit_price for line in lines],
            [line.discount_rate for line in lines],
            [line.tax_rate for line in lines],
            [line.figures.amount for line in lines],
            [line.figures.discount_amount for line in lines],
            [line.figures.net_amount for line in lines],
            [line.figures.tax_amount for line in lines],
            [line.figures.total_amount for line in lines],
        )
    await fetch(
        """UPDATE invoice SET subtotal = $3, discount_amount = $4, tax_amount = $5, total_amount = $6
            WHERE tenant_id = $1 AND id = $2""",
        scope.tenant_id,
        invoice_id,
        result.subtotal,
        result.discount_amount,
        result.tax_amount,
        result.total_amount,
    )
    return result


# --------------------------------------------------------------------------- events


def payload(invoice: schemas.Invoice | schemas.InvoiceSummary, scope: TenantScope, **extra: Any) -> dict[str, Any]:
    """The `data` of invoice events: the invoice (amounts as exact JSON numbers), its links, who changed it."""
    fields = schemas.InvoiceSummary.__struct_fields__
    body = {name: getattr(invoice, name) for name in fields if name != "id"}
    return {
        "invoice_id": invoice.id,
        "organization_id": scope.tenant_id,
        **body,
        "changed_by": scope.user_id,
        "url": invoice_url(invoice.id),
        "pdf_url": pdf_url(invoice.id),
        **extra,
    }


def _money(currency: str, amount: Decimal) -> str:
    return f"{currency} {amount:,.2f}"


async def _record(
    scope: TenantScope,
    invoice: schemas.Invoice | schemas.InvoiceSummary,
    kind: str,
    summary: str,
    *,
    events: Iterable[tuple[str, dict[str, Any]]] = (),
    audit: bool | dict[str, Any] = False,
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> None:
    """The invoice's timeline entry (on its contact's too), its events, and a line on its deal's timeline."""
    await emit(scope, Subject("invoice", invoice.id, contact_id=invoice.contact_id), kind, summary, changes, events=events, audit=audit)
    if invoice.deal_id is not None:
        await emit(scope, Subject("deal", invoice.deal_id, contact_id=invoice.contact_id), f"invoice_{kind}", summary)


# --------------------------------------------------------------------------- changes


async def create_invoice(scope: TenantScope, data: schemas.InvoiceCreate) -> schemas.Invoice:
    """A new draft, numbered at once (the next of its series: consecutive, never reused)."""
    policy.MANAGE.require(scope)
    if data.lines is not None and data.subtotal is not None:
        raise ValidationFailed(
            "Send either lines or subtotal (the single-line form), not both",
            details={"field": "subtotal", "expected": "lines, or subtotal with description"},
        )
    company_id = None if data.customer_account_id is UNSET else data.customer_account_id
    contact_id = None if data.contact_id is UNSET else data.contact_id
    deal_id = None if data.deal_id is UNSET else data.deal_id
    async with tenant_transaction(scope.tenant_id):
        settings = await read_settings(scope)
        customer = await _customer(scope, company_id, contact_id, deal_id)
        issue = data.issue_date or await _today(scope)
        _check_date("issue_date", issue)
        due = data.due_date or issue + timedelta(days=settings.payment_terms_days)
        _check_dates(issue, due)
        default_rate = data.tax_rate if data.tax_rate is not None else settings.default_tax_rate
        checked_decimal("tax_rate", default_rate, RATE_PATTERN, noun="rate", human="Enter a tax rate from 0 to 100 %")
        wanted = _single_line(data.subtotal, data.description, data.tax_rate) if data.subtotal is not None else list(data.lines or [])
        lines = price_lines(wanted, default_rate)
        # Last, so the counter's row is locked for as short a time as possible.
        number = await _next_number(scope, settings.number_pattern, issue)
        rows = await fetch(
            """INSERT INTO invoice (tenant_id, invoice_number, kind, status, customer_type, company_id, contact_id, customer_name,
                                    customer_email, customer_address, deal_id, issue_date, due_date, currency, description, notes,
                                    terms_conditions, created_by, created_at, updated_at)
               VALUES ($1, $2, 'invoice', 'draft', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, now(), now())
               RETURNING id""",
            scope.tenant_id,
            number,
            customer.type,
            customer.company_id,
            customer.contact_id,
            customer.name,
            customer.email,
            customer.address,
            deal_id,
            issue,
            due,
            data.currency or settings.currency,
            data.description.strip(),
            data.notes,
            data.terms_conditions if data.terms_conditions is not None else settings.default_terms,
            scope.user_id,
        )
        invoice_id = int(rows[0]["id"])
        await _store_lines(scope, invoice_id, lines)
        invoice = await read_invoice(scope, invoice_id)
        summary = f"Invoice {number} created for {customer.name}: {_money(invoice.currency, invoice.total_amount)}"
        await _record(scope, invoice, "created", summary, events=[("invoice.created", payload(invoice, scope))])
        return invoice


async def today(scope: TenantScope) -> date:
    """Today in the workspace's time zone."""
    async with tenant_transaction(scope.tenant_id):
        return await _today(scope)


async def _today(scope: TenantScope) -> date:
    rows = await fetch("SELECT (now() AT TIME ZONE time_zone)::date AS today FROM tenant WHERE id = $1", scope.tenant_id)
    today: date = rows[0]["today"] if rows else datetime.now(UTC).date()
    return today


def _refuse_unless_draft(invoice: schemas.Invoice, what: str) -> None:
    if invoice.status != "draft":
        raise Conflict(
            f"Only draft invoices can be {what}; {invoice.invoice_number} is {invoice.status} (correct it with a credit note)",
            details={"invoice_id": invoice.id, "status": invoice.status},
            human=f"{invoice.invoice_number} is {invoice.status.replace('_', ' ')}: only drafts can be {what}. "
            "Issue a credit note to correct it.",
        )


async def update_invoice(
    scope: TenantScope, invoice_id: int, data: schemas.InvoiceUpdate, *, if_match: str | None = None
) -> schemas.Invoice:
    """Change a draft: its customer, dates, currency, texts or lines (`lines` replaces them all). Honours If-Match."""
    policy.MANAGE.require(scope)
    values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not UNSET}
    if "lines" in values and "subtotal" in values:
        raise ValidationFailed(
            "Send either lines or subtotal (the single-line form), not both",
            details={"field": "subtotal", "expected": "lines, or subtotal with description"},
        )
    async with tenant_transaction(scope.tenant_id):
        current = await read_invoice(scope, invoice_id, lock=True)
        require_current(if_match, current)
        _refuse_unless_draft(current, "changed")
        settings = await read_settings(scope)
        changes: dict[str, tuple[Any, Any]] = {}
        columns: dict[str, Any] = {}
        # While it is a draft, the customer as billed follows the customer's record (a new address shows on the next save).
        deal_id = values.get("deal_id", current.deal_id)
        customer = await _customer(
            scope, values.get("customer_account_id", current.customer_account_id), values.get("contact_id", current.contact_id), deal_id
        )
        columns.update(
            customer_type=customer.type,
            company_id=customer.company_id,
            contact_id=customer.contact_id,
            customer_name=customer.name,
            customer_email=customer.email,
            customer_address=customer.address,
            deal_id=deal_id,
        )
        if customer.name != current.customer_name:
            changes["customer"] = (current.customer_name, customer.name)
        issue = values.get("issue_date", current.issue_date)
        due = values.get("due_date", current.due_date)
        _check_dates(issue, due)
        for name in ("issue_date", "due_date", "currency", "description", "notes", "terms_conditions"):
            if name in values:
                value = values[name].strip() if name == "description" else values[name]
                columns[name] = value
                if value != getattr(current, name):
                    changes[name] = (getattr(current, name), value)
        sets = ", ".join(f"{name} = ${n + 3}" for n, name in enumerate(columns))
        await fetch(
            f"UPDATE invoice SET {sets}, updated_at = now() WHERE tenant_id = $1 AND id = $2",
            scope.tenant_id,
            invoice_id,
            *columns.values(),
        )
        default_rate = values.get("tax_rate", settings.default_tax_rate)
        if "subtotal" in values:
            base = current.lines[0].description if current.lines else DEFAULT_LINE
            wanted = _single_line(values["subtotal"], values.get("description") or base, values.get("tax_rate"))
            await _store_lines(scope, invoice_id, price_lines(wanted, default_rate))
            changes["total_amount"] = (current.total_amount, None)
        elif "lines" in values:
            await _store_lines(scope, invoice_id, price_lines(values["lines"], default_rate))
            changes["total_amount"] = (current.total_amount, None)
        invoice = await read_invoice(scope, invoice_id)
        if "total_amount" in changes:
            changes["total_amount"] = (current.total_amount, invoice.total_amount)
            if current.total_amount == invoice.total_amount:
                del changes["total_amount"]
        if changes:
            await _record(scope, invoice, "updated", f"Draft {invoice.invoice_number} changed", changes=changes)
        return invoice


async def send_invoice(scope: TenantScope, invoice_id: int, data: schemas.InvoiceSend, queue: Queue | None) -> schemas.SendResult:
    """Issue a draft (it becomes sent, and its customer as billed is kept from now on), or send a sent one again; the PDF is
    e-mailed by a job when SMTP is configured. Publishes `invoice.sent`."""
    from app.billing.jobs import email_invoice  # imported here: the job's module uses this one

    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        invoice = await read_invoice(scope, invoice_id, lock=True)
        if invoice.status == "void":
            raise Conflict(
                f"{invoice.invoice_number} is void and cannot be sent",
                details={"invoice_id": invoice_id, "status": invoice.status},
                human=f"{invoice.invoice_number} is void: it cannot be sent.",
            )
        if not invoice.lines:
            raise Conflict(
                f"{invoice.invoice_number} has no lines: add at least one before sending it",
                details={"invoice_id": invoice_id, "lines": 0},
                human="Add at least one line before sending the invoice.",
            )
        first = invoice.status == "draft"
        if first:
            # From now on the customer as billed is kept as it is on the document.
            if invoice.customer_account_id is not None or invoice.contact_id is not None:
                customer = await _customer(scope, invoice.customer_account_id, invoice.contact_id, None)
                billed = (customer.name, customer.email, customer.address)
            else:  # the customer's record was deleted: the draft keeps whom it was made out to
                billed = (invoice.customer_name, invoice.customer_email, invoice.customer_address)
            await fetch(
                """UPDATE invoice SET status = 'sent', sent_at = now(), updated_at = now(), customer_name = $3, customer_email = $4,
                                      customer_address = $5 WHERE tenant_id = $1 AND id = $2""",
                scope.tenant_id,
                invoice_id,
                *billed,
            )
            invoice = await read_invoice(scope, invoice_id)
        recipient = data.to or invoice.customer_email or None
        mail = "not_configured" if not current_settings().smtp_url else ("no_recipient" if recipient is None else "queued")
        summary = f"Invoice {invoice.invoice_number} sent" + (f" to {recipient}" if mail == "queued" else "")
        events = [("invoice.sent", payload(invoice, scope, emailed_to=recipient if mail == "queued" else None))]
        await _record(scope, invoice, "sent" if first else "resent", summary, events=events)
    if mail == "queued" and queue is not None and recipient is not None:
        await email_invoice.enqueue(
            queue,
            tenant_id=scope.tenant_id,
            invoice_id=invoice_id,
            to=recipient,
            message=data.message,
            sent_at=datetime.now(UTC).isoformat(),
        )
    return schemas.SendResult(invoice=invoice, email=mail, emailed_to=recipient if mail == "queued" else None)


async def void_invoice(scope: TenantScope, invoice_id: int, data: schemas.InvoiceVoid) -> schemas.Invoice:
    """Void an invoice that has no payments or credits, or a credit note (its credit comes back onto the invoice it
    corrected), with a reason; it keeps its number. Audited."""
    policy.MANAGE.require(scope)
    reason = data.reason.strip()
    async with tenant_transaction(scope.tenant_id):
        invoice = await read_invoice(scope, invoice_id, lock=True)
        if invoice.status == "void":
            raise Conflict(f"{invoice.invoice_number} is already void", details={"invoice_id": invoice_id, "status": "void"})
        if invoice.kind == "credit_note":
            return await _void_credit_note(scope, invoice, reason)
        if invoice.amount_paid > 0 or invoice.amount_credited > 0:
            raise Conflict(
                f"{invoice.invoice_number} has payments or credit notes and cannot be voided; issue a credit note instead",
                details={
                    "invoice_id": invoice_id,
                    "amount_paid": str(invoice.amount_paid),
                    "amount_credited": str(invoice.amount_credited),
                },
                human=f"{invoice.invoice_number} has payments or credits recorded: correct it with a credit note instead.",
            )
        await fetch(
            "UPDATE invoice SET status = 'void', void_reason = $3, voided_at = now(), updated_at = now() WHERE tenant_id = $1 AND id = $2",
            scope.tenant_id,
            invoice_id,
            reason,
        )
        voided = await read_invoice(scope, invoice_id)
        await _record(
            scope,
            voided,
            "voided",
            f"Invoice {voided.invoice_number} voided: {reason}",
            events=[("invoice.voided", payload(voided, scope, void_reason=reason))],
            audit={"invoice_number": voided.invoice_number, "reason": reason, "status": [invoice.status, "void"]},
            changes={"status": (invoice.status, "void")},
        )
        return voided


async def _void_credit_note(scope: TenantScope, note: schemas.Invoice, reason: str) -> schemas.Invoice:
    """Void a credit note issued by mistake: the invoice it corrected owes its amount again (sent, partly paid or overdue
    as its payments and due date say), in the caller's transaction."""
    assert note.credit_note_for is not None
    invoice = await read_invoice(scope, note.credit_note_for, lock=True)
    credited = invoice.amount_credited - note.total_amount
    status = invoice.status
    if invoice.status in (*schemas.OPEN_STATUSES, "paid"):
        status = "partially_paid" if invoice.amount_paid + credited > 0 else "sent"
        if invoice.amount_paid + credited >= invoice.total_amount:
            status = "paid"
        elif invoice.due_date < await _today(scope):
            status = "overdue"
    await fetch(
        """UPDATE invoice SET status = 'void', void_reason = $3, voided_at = now(), updated_at = now() WHERE tenant_id = $1 AND id = $2""",
        scope.tenant_id,
        note.id,
        reason,
    )
    await fetch(
        """UPDATE invoice SET amount_credited = $3, status = $4::text, updated_at = now(),
                              paid_at = CASE WHEN $4::text = 'paid' THEN paid_at END,
                              overdue_at = CASE WHEN $4::text = 'overdue' THEN coalesce(overdue_at, now()) ELSE overdue_at END
            WHERE tenant_id = $1 AND id = $2""",
        scope.tenant_id,
        invoice.id,
        credited,
        status,
    )
    voided = await read_invoice(scope, note.id)
    after = await _summary(scope, invoice.id)
    await _record(
        scope,
        voided,
        "voided",
        f"Credit note {note.invoice_number} voided: {reason}",
        events=[("invoice.voided", payload(voided, scope, void_reason=reason))],
        audit={"invoice_number": note.invoice_number, "reason": reason, "status": [note.status, "void"]},
        changes={"status": (note.status, "void")},
    )
    await _record(
        scope,
        after,
        "credit_voided",
        f"Credit note {note.invoice_number} voided: {_money(note.currency, note.total_amount)} is owed again ({reason})",
        events=[
            (
                "invoice.credit_voided",
                payload(after, scope, credit_note_id=note.id, credit_note_number=note.invoice_number, credit_amount=note.total_amount),
            )
        ],
        changes={
            "amount_credited": (invoice.amount_credited, credited),
            **({"status": (invoice.status, status)} if status != invoice.status else {}),
        },
    )
    return voided


def _status_after(invoice: schemas.Invoice, paid: Decimal, credited: Decimal) -> str:
    """An open invoice's status once `paid` and `credited` are counted: paid when nothing is owed, else overdue if it was,
    else partially paid."""
    if paid + credited >= invoice.total_amount:
        return "paid"
    if invoice.status == "overdue":
        return "overdue"
    return "partially_paid" if paid + credited > 0 else invoice.status


def _owed_refusal(invoice: schemas.Invoice, field: str, amount: Decimal, what: str) -> ValidationFailed:
    balance = invoice.balance_due
    return ValidationFailed(
        f"Invalid {field}: {amount} is more than the {balance} still owed on {invoice.invoice_number}",
        # `reason`: the amount is well formed; what is still owed depends on the invoice's payments (the data).
        details={
            "field": field,
            "provided": str(amount),
            "expected": f"at most the balance due, {balance}",
            "balance_due": str(balance),
            "reason": "exceeds_balance",
        },
        human=f"Only {_money(invoice.currency, balance)} is still owed on {invoice.invoice_number}; {what} no more than that.",
    )


async def record_payment(scope: TenantScope, invoice_id: int, data: schemas.PaymentCreate) -> schemas.PaymentResult:
    """A payment against a sent (or overdue, or partly paid) invoice: at most its balance due (an overpayment is a 422 and
    nothing changes). Paying the rest marks it paid and publishes `invoice.paid`. Audited."""
    policy.MANAGE.require(scope)
    amount = checked_decimal(
        "amount", data.amount, POSITIVE_MONEY_PATTERN, noun="amount", human="Enter an amount more than 0, like 1500.50"
    )
    assert amount is not None
    try:
        paid_at = (data.paid_at or datetime.now(UTC)).astimezone(UTC)
    except OverflowError:  # the last (or first) day there is, shifted past it by its offset
        paid_at = datetime.max.replace(tzinfo=UTC)
    _check_date("paid_at", paid_at.date())
    async with tenant_transaction(scope.tenant_id):
        invoice = await read_invoice(scope, invoice_id, lock=True)  # concurrent payments of one invoice wait for each other
        if invoice.kind == "credit_note" or invoice.status not in schemas.OPEN_STATUSES:
            what = "a credit note" if invoice.kind == "credit_note" else invoice.status.replace("_", " ")
            raise Conflict(
                f"{invoice.invoice_number} is {what}: payments are recorded against sent invoices",
                details={"invoice_id": invoice_id, "status": invoice.status},
                human=f"{invoice.invoice_number} is {what}: "
                + ("send it before recording a payment." if invoice.status == "draft" else "no payment can be recorded against it."),
            )
        if amount > invoice.balance_due:
            raise _owed_refusal(invoice, "amount", amount, "record")
        rows = await fetch(
            """INSERT INTO payment (tenant_id, invoice_id, amount, currency, payment_method, payment_reference, paid_at, notes,
                                    recorded_by, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now()) RETURNING id""",
            scope.tenant_id,
            invoice_id,
            amount,
            invoice.currency,
            data.payment_method,
            data.payment_reference.strip(),
            paid_at,
            data.notes,
            scope.user_id,
        )
        payment_id = int(rows[0]["id"])
        paid = invoice.amount_paid + amount
        status = _status_after(invoice, paid, invoice.amount_credited)
        await fetch(
            """UPDATE invoice SET amount_paid = $3, status = $4::text, paid_at = CASE WHEN $4::text = 'paid' THEN $5 ELSE paid_at END,
                                  updated_at = now() WHERE tenant_id = $1 AND id = $2""",
            scope.tenant_id,
            invoice_id,
            paid,
            status,
            paid_at,
        )
        after = await _summary(scope, invoice_id)
        payment = msgspec.convert(
            (await fetch(_PAYMENTS.replace("invoice_id = $2", "id = $2"), scope.tenant_id, payment_id))[0], schemas.Payment
        )
        paid_data = {
            "payment_id": payment_id,
            "amount": amount,
            "payment_method": payment.payment_method,
            "payment_reference": payment.payment_reference,
            "payment_paid_at": paid_at,
        }
        events = [("invoice.payment_recorded", payload(after, scope, **paid_data))]
        if status == "paid":
            events.append(("invoice.paid", payload(after, scope, **paid_data)))
        await _record(
            scope,
            after,
            "paid" if status == "paid" else "payment_recorded",
            f"Payment of {_money(invoice.currency, amount)} recorded on {invoice.invoice_number}"
            + (": paid in full" if status == "paid" else f"; {_money(invoice.currency, after.balance_due)} still due"),
            events=events,
            audit={"invoice_number": invoice.invoice_number, "amount": amount, "payment_id": payment_id, "method": payment.payment_method},
            changes={
                "amount_paid": (invoice.amount_paid, paid),
                **({"status": (invoice.status, status)} if status != invoice.status else {}),
            },
        )
        return schemas.PaymentResult(payment=payment, invoice=after)


async def list_payments(scope: TenantScope, invoice_id: int) -> list[schemas.Payment]:
    """The payments of an invoice, oldest first."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await _summary(scope, invoice_id)  # 404 for another tenant's invoice
        return msgspec.convert(await fetch(_PAYMENTS, scope.tenant_id, invoice_id), list[schemas.Payment])


async def create_credit_note(scope: TenantScope, invoice_id: int, data: schemas.CreditNoteCreate) -> schemas.Invoice:
    """A credit note correcting a sent invoice, numbered from the credit-note pattern and issued at once: its total comes off
    what the invoice still owes (at most all of it). Without lines it credits the whole invoice (nothing may be paid yet).
    An invoice with nothing left to pay is settled (paid). Audited."""
    policy.MANAGE.require(scope)
    reason = data.reason.strip()
    async with tenant_transaction(scope.tenant_id):
        invoice = await read_invoice(scope, invoice_id, lock=True)
        if invoice.kind != "invoice" or invoice.status not in (*schemas.OPEN_STATUSES, "paid"):
            raise Conflict(
                f"{invoice.invoice_number} cannot be credited: only sent invoices are (change a draft instead)",
                details={"invoice_id": invoice_id, "status": invoice.status},
                human=f"{invoice.invoice_number} is {invoice.status.replace('_', ' ')}: "
                + ("change the draft instead." if invoice.status == "draft" else "it cannot be credited."),
            )
        if data.lines is None:
            if invoice.amount_paid > 0 or invoice.amount_credited > 0:
                raise ValidationFailed(
                    "Invalid lines: the invoice is partly paid or credited; name the lines to credit",
                    details={
                        "field": "lines",
                        "expected": "the lines to credit, adding up to at most the balance due",
                        "reason": "exceeds_balance",
                    },
                    human="Part of this invoice is paid or credited already: list what you credit.",
                )
            wanted = [
                schemas.InvoiceLineInput(
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    tax_rate=line.tax_rate,
                    discount_rate=line.discount_rate,
                )
                for line in invoice.lines
            ]
        else:
            wanted = list(data.lines)
        settings = await read_settings(scope)
        lines = price_lines(wanted, settings.default_tax_rate)
        credit = money.totals((line.tax_rate, line.figures) for line in lines).total_amount
        if credit > invoice.balance_due:
            raise _owed_refusal(invoice, "lines", credit, "credit")
        today = await _today(scope)
        issue = max(today, invoice.issue_date)
        number = await _next_number(scope, settings.credit_note_pattern, issue)
        rows = await fetch(
            """INSERT INTO invoice (tenant_id, invoice_number, kind, status, customer_type, company_id, contact_id, customer_name,
                                    customer_email, customer_address, deal_id, credit_note_for, issue_date, due_date, currency,
                                    description, notes, terms_conditions, sent_at, created_by, created_at, updated_at)
               SELECT tenant_id, $3, 'credit_note', 'sent', customer_type, company_id, contact_id, customer_name, customer_email,
                      customer_address, deal_id, id, $4, $4, currency, $5, '', '', now(), $6, now(), now()
                 FROM invoice WHERE tenant_id = $1 AND id = $2 RETURNING id""",
            scope.tenant_id,
            invoice_id,
            number,
            issue,
            f"Credit note for {invoice.invoice_number}: {reason}"[:500],
            scope.user_id,
        )
        note_id = int(rows[0]["id"])
        await _store_lines(scope, note_id, lines)
        credited = invoice.amount_credited + credit
        status = _status_after(invoice, invoice.amount_paid, credited)
        await fetch(
            """UPDATE invoice SET amount_credited = $3, status = $4::text, updated_at = now(),
                                  paid_at = CASE WHEN $4::text = 'paid' THEN coalesce(paid_at, now()) ELSE paid_at END
                WHERE tenant_id = $1 AND id = $2""",
            scope.tenant_id,
            invoice_id,
            credited,
            status,
        )
        note = await read_invoice(scope, note_id)
        after = await _summary(scope, invoice_id)
        settled = status == "paid" and invoice.status != "paid"
        await _record(
            scope,
            note,
            "created",
            f"Credit note {number} issued for {invoice.invoice_number}: {_money(note.currency, credit)} ({reason})",
            audit={"invoice_number": invoice.invoice_number, "credit_note_number": number, "amount": credit, "reason": reason},
        )
        await _record(
            scope,
            after,
            "paid" if settled else "credited",
            f"{_money(note.currency, credit)} credited by {number}: {reason}" + ("; nothing is owed now" if settled else ""),
            events=[
                (
                    "invoice.credited",
                    payload(after, scope, credit_note_id=note_id, credit_note_number=number, credit_amount=credit, reason=reason),
                ),
                # Settled by the credit (Invoice Ninja applies a credit as a payment): `invoice.paid`, as a payment would.
                *(
                    [("invoice.paid", payload(after, scope, settled_by="credit_note", credit_note_id=note_id, credit_note_number=number))]
                    if settled
                    else []
                ),
            ],
            changes={
                "amount_credited": (invoice.amount_credited, credited),
                **({"status": (invoice.status, status)} if status != invoice.status else {}),
            },
        )
        return note


async def mark_overdue(tenant_id: int) -> int:
    """Sent and partly paid invoices of the workspace past their due date (in its time zone) become overdue, each publishing
    `invoice.overdue` once. Returns how many."""
    scope = TenantScope.system(tenant_id, "system:overdue-invoices")
    async with tenant_transaction(tenant_id):
        rows = await fetch(
            f"""UPDATE invoice i SET status = 'overdue', overdue_at = now(), updated_at = now()
                 WHERE i.tenant_id = $1 AND i.kind = 'invoice' AND i.status IN ('sent', 'partially_paid')
                   AND {BALANCE} > 0 AND i.due_date < {TODAY}
             RETURNING i.id""",
            tenant_id,
        )
        ids = [r["id"] for r in rows]
        if not ids:
            return 0
        overdue = await fetch_as(schemas.InvoiceSummary, f"{_SUMMARY} WHERE i.tenant_id = $1 AND i.id = ANY($2::bigint[])", tenant_id, ids)
        for invoice in overdue:
            days = (await _today(scope) - invoice.due_date).days
            await _record(
                scope,
                invoice,
                "overdue",
                f"Invoice {invoice.invoice_number} is overdue: {_money(invoice.currency, invoice.balance_due)} "
                f"was due on {invoice.due_date}",
                events=[("invoice.overdue", payload(invoice, scope, days_overdue=days))],
            )
        return len(ids)
