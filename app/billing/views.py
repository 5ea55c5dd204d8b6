"""Browser UI for billing. Invoices: the list (status tabs, search and totals in the URL, overdue rows marked), the editor
(line rows added and removed with htmx, totals recomputed as you type), an invoice's page (send, record a payment,
void, credit, download or e-mail the PDF), invoices from a deal. Expenses (a list with filters in the URL, a form with
the receipt), the profit and loss screen (a period table, a chart drawn on the server as SVG, CSV and Excel), the
billing settings, and a lead's ROI calculator."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Response, Template
from saq import Queue

from app.billing import (
    batches,
    billing_settings,
    documents,
    exchange_rates,
    expenses,
    money,
    policy,
    reports,
    roi_reports,
    schemas,
    service,
)
from app.contacts import service as contacts
from app.core.errors import DomainError, ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery
from app.core.validation import convert_input
from app.db import TenantScope, tenant_transaction
from app.events.service import Subject
from app.events.service import timeline as read_timeline
from app.events.stream import latest_id
from app.pipeline import service as deals
from app.web.auth import guard
from app.web.ui import Form, clean_form, download, form_errors, refusal_stays_on_page, render, targets

Id = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
PAGE_SIZE = 25
PDF_MEDIA_TYPE = "application/pdf"
# The status tabs of the list: (label, query). "Overdue" is every invoice past due with money owed, swept or not yet.
TABS: tuple[tuple[str, dict[str, str]], ...] = (
    ("All", {}),
    ("Drafts", {"status": "draft"}),
    ("Awaiting payment", {"status": "sent,partially_paid"}),
    ("Overdue", {"overdue": "1"}),
    ("Paid", {"status": "paid"}),
    ("Void", {"status": "void"}),
)
_LINE_FIELD = re.compile(r"^line-(\d{1,3})-(description|quantity|unit_price|tax_rate|discount_rate)$")
LINE_FIELDS = ("description", "quantity", "unit_price", "tax_rate", "discount_rate")
BLANK_ROWS = 1


def _number(raw: str) -> int | None:
    return int(raw) if re.fullmatch(r"[0-9]{1,18}", raw or "") else None


def _list_state(status: str | None, overdue: str | None, q: str | None) -> dict[str, str]:
    return {"status": (status or "").strip(), "overdue": "1" if overdue == "1" else "", "q": (q or "").strip()}


def _query(state: dict[str, str], **extra: Any) -> str:
    return urlencode({k: v for k, v in {**state, **extra}.items() if v not in ("", None)})


def fraction_of_percent(raw: str) -> Decimal | str:
    """A percentage typed on a screen (5, 8.25) as the API's fraction (0.05, 0.0825); what is not a number stays as typed,
    for the schema to refuse next to its field."""
    text = raw.strip().removesuffix("%").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        return raw
    return value / 100 if value.is_finite() else raw


@dataclass(frozen=True, slots=True)
class LineRow:
    """A row of the editor: its number in the form, what was typed, and its figures when they can be worked out."""

    n: int
    values: dict[str, str]
    figures: money.LineFigures | None


def _rows(form: dict[str, str]) -> list[LineRow]:
    """The editor's line rows in their order, each with its figures (None while a value is not a number)."""
    typed: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        if m := _LINE_FIELD.match(key):
            typed.setdefault(int(m.group(1)), {})[m.group(2)] = value
    rows = []
    for n in sorted(typed):
        values = {name: typed[n].get(name, "") for name in LINE_FIELDS}
        try:
            figures: money.LineFigures | None = money.line_figures(
                Decimal(values["quantity"] or "1"),
                Decimal(values["unit_price"] or "0"),
                Decimal(str(fraction_of_percent(values["discount_rate"] or "0"))),
                Decimal(str(fraction_of_percent(values["tax_rate"] or "0"))),
            )
            figures = figures if figures is not None and all(v.is_finite() for v in (figures.amount, figures.tax_amount)) else None
        except (InvalidOperation, ValueError):
            figures = None
        rows.append(LineRow(n, values, figures))
    return rows


def _blank(row: LineRow) -> bool:
    return not row.values["description"].strip() and not row.values["unit_price"].strip()


def _editor_input(form: dict[str, str]) -> tuple[dict[str, Any], list[int]]:
    """The editor's form as InvoiceCreate's (or InvoiceUpdate's) input, and the form row of each line sent (blank rows
    are left out), so an error about `lines[2]` is shown on its row."""
    values: dict[str, Any] = {}
    customer = form.get("customer", "")
    kind, _, raw_id = customer.partition(":")
    if kind in ("company", "contact") and _number(raw_id):
        values["customer_account_id" if kind == "company" else "contact_id"] = int(raw_id)
    if _number(form.get("deal_id", "")):
        values["deal_id"] = int(form["deal_id"])
    for name in ("issue_date", "due_date", "currency"):
        if form.get(name, "").strip():
            values[name] = form[name].strip().upper() if name == "currency" else form[name].strip()
    for name in ("description", "notes", "terms_conditions"):
        if name in form:
            values[name] = form[name].strip()
    lines, kept = [], []
    for row in _rows(form):
        if _blank(row):
            continue
        line: dict[str, Any] = {"description": row.values["description"].strip()}
        for name in ("quantity", "unit_price"):
            if row.values[name].strip():
                line[name] = row.values[name].strip().replace(",", "")
        for name in ("tax_rate", "discount_rate"):
            if row.values[name].strip():
                line[name] = fraction_of_percent(row.values[name])
        lines.append(line)
        kept.append(row.n)
    values["lines"] = lines
    return values, kept


def _editor_errors(exc: DomainError, kept: list[int]) -> dict[str, str]:
    """Field errors keyed by the editor's inputs: `lines[2].unit_price` → `line-<its row>-unit_price`."""
    errors = {}
    for key, text in form_errors(exc).items():
        m = re.match(r"^lines\[(\d+)\]\.(\w+)$", key)
        if m and int(m.group(1)) < len(kept):
            errors[f"line-{kept[int(m.group(1))]}-{m.group(2)}"] = text
        elif key in ("customer_account_id", "contact_id"):
            errors["customer"] = text
        else:
            errors[key] = text
    return errors


def _form_of(invoice: schemas.Invoice) -> dict[str, str]:
    """A draft as the editor's form."""
    form = {
        "customer": f"company:{invoice.customer_account_id}" if invoice.customer_account_id else f"contact:{invoice.contact_id or ''}",
        "deal_id": str(invoice.deal_id or ""),
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "currency": invoice.currency,
        "description": invoice.description,
        "notes": invoice.notes,
        "terms_conditions": invoice.terms_conditions,
    }
    for n, line in enumerate(invoice.lines):
        form.update(
            {
                f"line-{n}-description": line.description,
                f"line-{n}-quantity": f"{line.quantity.normalize():f}",
                f"line-{n}-unit_price": f"{line.unit_price:f}",
                f"line-{n}-tax_rate": f"{(line.tax_rate * 100).normalize():f}",
                f"line-{n}-discount_rate": f"{(line.discount_rate * 100).normalize():f}" if line.discount_rate else "",
            }
        )
    return form


def _with_blank_rows(form: dict[str, str], settings: schemas.BillingSettings) -> dict[str, str]:
    """The form with empty rows to type new lines into (their tax rate: the workspace's default)."""
    rows = _rows(form)
    start = max((r.n for r in rows), default=-1) + 1
    for n in range(start, start + BLANK_ROWS):
        form = {**form, f"line-{n}-quantity": "1", f"line-{n}-tax_rate": f"{(settings.default_tax_rate * 100).normalize():f}"}
    return form


def _live_totals(rows: list[LineRow]) -> money.Totals:
    return money.totals(
        (Decimal(str(fraction_of_percent(row.values["tax_rate"] or "0"))), row.figures)
        for row in rows
        if row.figures is not None and not _blank(row)
    )


class InvoicePagesController(Controller):
    """Invoice screens."""

    include_in_schema = False
    guards = [guard(policy.VIEW)]

    # ------------------------------------------------------------------ the list

    @get("/invoices")
    async def index(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        status: Annotated[str | None, Parameter(max_length=60)] = None,
        overdue: Annotated[str | None, Parameter(max_length=5)] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000)] = 0,
    ) -> Template:
        """Invoices by status tab, searched, with the totals of what the tab shows; the state lives in the URL."""
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        state = _list_state(status, overdue, q)
        try:
            statuses = service.parse_statuses(state["status"])
        except ValidationFailed:
            statuses, state["status"] = (), ""
        filters = service.InvoiceFilters(status=statuses, overdue=True if state["overdue"] else None, q=state["q"] or None)
        page = await service.list_invoices(tenant, filters, ListQuery(limit=PAGE_SIZE, offset=offset))
        query = _query(state)
        self_url = "/invoices" + (f"?{query}" if query else "")
        ctx = {
            "active": "invoices",
            "section": "invoices",
            "state": state,
            "page": page,
            "totals": await service.list_totals(tenant, filters),
            "tabs": [
                (label, "/invoices" + (f"?{_query(tab)}" if tab else ""), tab == {k: v for k, v in state.items() if v and k != "q"})
                for label, tab in TABS
            ],
            "query": query,
            "self_url": self_url,
            "live_after": live_after,
            "batch": None,
            "batch_error": "",
            "this_month": (await service.today(tenant)).strftime("%Y-%m"),
        }
        block = "results" if targets(request, "invoice-results") else "content"
        return render(request, "billing/invoices.html", ctx, block=block, push_url=self_url if block == "results" else None)

    @post("/invoices/batches", guards=[guard(policy.MANAGE)])
    async def start_batch(self, request: Request[Any, Any, Any], tenant: TenantScope, queue: Queue, data: Form) -> Template:
        """Send every draft of a month in the background; the answer is its progress bar (or why there is nothing to send)."""
        try:
            batch = await batches.start_batch(tenant, convert_input({"month": data.get("month", "").strip()}, schemas.BatchCreate), queue)
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return render(request, "billing/invoices.html", {"batch": None, "batch_error": exc.human}, block="batch", status_code=422)
        return render(request, "billing/invoices.html", {"batch": batch, "batch_error": ""}, block="batch")

    @get("/invoices/batches/{batch_id:int}")
    async def batch_progress(self, request: Request[Any, Any, Any], tenant: TenantScope, batch_id: Id) -> Template:
        """A batch's progress bar (it asks again every second until the batch is done)."""
        batch = await batches.get_batch(tenant, batch_id)
        return render(request, "billing/invoices.html", {"batch": batch, "batch_error": ""}, block="batch")

    # ------------------------------------------------------------------ the editor

    async def _editor(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        form: dict[str, str],
        *,
        invoice: schemas.Invoice | None = None,
        errors: dict[str, str] | None = None,
        message: str = "",
        status_code: int = 200,
    ) -> Template:
        settings = await billing_settings.get_settings(tenant)
        form = _with_blank_rows(form, settings)
        rows = _rows(form)
        customer = form.get("customer", "")
        ctx = {
            "active": "invoices",
            "section": "invoices",
            "invoice": invoice,
            "form": form,
            "rows": rows,
            "totals": _live_totals(rows),
            "errors": errors or {},
            "message": message,
            "customers": await self._customer_options(tenant, "", customer),
            "deal": await deals.get_deal(tenant, int(form["deal_id"])) if _number(form.get("deal_id", "")) else None,
            "settings": settings,
            "action": f"/invoices/{invoice.id}" if invoice else "/invoices/new",
        }
        return render(
            request,
            "billing/editor.html",
            ctx,
            block="editor" if targets(request, "invoice-editor") else "content",
            status_code=status_code,
        )

    async def _customer_options(self, tenant: TenantScope, q: str, chosen: str) -> dict[str, Any]:
        """Companies and contacts to bill (searched by `q`), and the chosen one even when the search leaves it out."""
        companies = (await contacts.list_companies(tenant, ListQuery(limit=50), q=q or None)).data
        people = (await contacts.list_contacts(tenant, ListQuery(limit=50), q=q or None)).data
        options = {"companies": [(f"company:{c.id}", c.name) for c in companies], "contacts": [(f"contact:{c.id}", c.name) for c in people]}
        kind, _, raw = chosen.partition(":")
        if _number(raw) and chosen not in {v for group in options.values() for v, _ in group}:
            try:
                found = await contacts.get_company(tenant, int(raw)) if kind == "company" else await contacts.get_contact(tenant, int(raw))
                options["companies" if kind == "company" else "contacts"].insert(0, (chosen, found.name))
            except DomainError:
                pass
        return {**options, "chosen": chosen, "q": q}

    @get("/invoices/customers")
    async def customers(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        customer_q: Annotated[str, Parameter(max_length=100)] = "",
        customer: Annotated[str, Parameter(max_length=40)] = "",
    ) -> Template:
        """The customer picker's options for what was typed in its search box."""
        options = await self._customer_options(tenant, customer_q.strip(), customer)
        return render(request, "billing/editor.html", {"customers": options, "errors": {}}, block="customer_select")

    @get("/invoices/new", guards=[guard(policy.MANAGE)])
    async def new(
        self, request: Request[Any, Any, Any], tenant: TenantScope, deal: Annotated[str | None, Parameter(max_length=20)] = None
    ) -> Template:
        """A new invoice; from a deal (`?deal=ID`), made out to the deal's customer for its value."""
        form: dict[str, str] = {}
        deal_id = _number(deal or "")
        if deal_id is not None:
            found = await deals.get_deal(tenant, deal_id)
            form = {
                "customer": f"company:{found.company_id}"
                if found.company_id
                else (f"contact:{found.contact_id}" if found.contact_id else ""),
                "deal_id": str(found.id),
                "currency": found.currency,
                "description": found.title,
                "line-0-description": found.title,
                "line-0-quantity": "1",
                "line-0-unit_price": f"{found.value:f}",
            }
        settings = await billing_settings.get_settings(tenant)
        form.setdefault("currency", settings.currency)
        form.setdefault("terms_conditions", settings.default_terms)
        if "line-0-description" in form:
            form["line-0-tax_rate"] = f"{(settings.default_tax_rate * 100).normalize():f}"
        return await self._editor(request, tenant, form)

    @post("/invoices/new", guards=[guard(policy.MANAGE)])
    async def create(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Create the draft (numbered at once) and open it; errors next to their fields and rows, nothing created."""
        form = clean_form(data)
        values, kept = _editor_input(form)
        try:
            invoice = await service.create_invoice(tenant, convert_input(values, schemas.InvoiceCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._editor(request, tenant, form, errors=_editor_errors(exc, kept), status_code=422)
        return Redirect(path=f"/invoices/{invoice.id}", status_code=303)

    @post("/invoices/totals")
    async def totals(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template:
        """Live totals while the editor is typed in (nothing is saved): each row's amount and the invoice's totals."""
        rows = _rows(clean_form(data))
        ctx = {"rows": rows, "totals": _live_totals(rows), "form": {"currency": data.get("currency", "")}, "oob": True}
        return render(request, "billing/editor.html", ctx, block="totals")

    @post("/invoices/line-row")
    async def line_row(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template:
        """One more empty line row for the editor (numbered after the rows it has)."""
        settings = await billing_settings.get_settings(tenant)
        n = max((row.n for row in _rows(clean_form(data))), default=-1) + 1
        if n > 999:
            raise ValidationFailed("An invoice has at most 200 lines", details={"field": "lines"})
        rate = f"{(settings.default_tax_rate * 100).normalize():f}"
        row = LineRow(n, {"description": "", "quantity": "1", "unit_price": "", "tax_rate": rate, "discount_rate": ""}, None)
        return render(request, "billing/editor.html", {"row": row, "errors": {}}, block="line_row")

    # ------------------------------------------------------------------ an invoice

    async def _invoice_page(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        invoice_id: int,
        *,
        message: str = "",
        errors: dict[str, str] | None = None,
        payment_form: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        invoice = await service.get_invoice(tenant, invoice_id)
        if invoice.status == "draft" and policy.MANAGE.allows(tenant) and not errors:
            return await self._editor(request, tenant, _form_of(invoice), invoice=invoice, message=message)
        ctx = {
            "active": "invoices",
            "section": "invoices",
            "invoice": invoice,
            "message": message,
            "errors": errors or {},
            "payment_form": payment_form
            or {
                "amount": f"{invoice.balance_due:f}",
                "payment_method": "bank_transfer",
                "paid_on": (await service.today(tenant)).isoformat(),
            },
            "methods": schemas.PAYMENT_METHODS,
            "timeline": await self._timeline(tenant, invoice_id),
            "live_after": live_after,
        }
        return render(
            request, "billing/invoice.html", ctx, block="invoice" if targets(request, "invoice") else "content", status_code=status_code
        )

    async def _timeline(self, tenant: TenantScope, invoice_id: int) -> Any:
        async with tenant_transaction(tenant.tenant_id):
            return await read_timeline(tenant, ListQuery(limit=20), subject=Subject("invoice", invoice_id))

    @get("/invoices/{invoice_id:int}")
    async def invoice(self, request: Request[Any, Any, Any], tenant: TenantScope, invoice_id: Id) -> Template:
        """A draft opens in the editor (for those who may change it); anything else shows as issued, with its payments."""
        return await self._invoice_page(request, tenant, invoice_id)

    @post("/invoices/{invoice_id:int}", guards=[guard(policy.MANAGE)])
    async def save(
        self, request: Request[Any, Any, Any], tenant: TenantScope, queue: Queue, invoice_id: Id, data: Form
    ) -> Template | Redirect:
        """Save the draft (and send it, with "Save and send"); errors next to their fields and rows, nothing changed."""
        form = clean_form(data)
        values, kept = _editor_input(form)
        current = await service.get_invoice(tenant, invoice_id)
        try:
            if not values.get("customer_account_id") and not values.get("contact_id") and not values.get("deal_id"):
                raise ValidationFailed(
                    "Choose the customer", details={"field": "customer_account_id"}, human="Choose the customer: a company or a contact"
                )
            values.setdefault("customer_account_id", None)
            values.setdefault("contact_id", None)
            values.setdefault("deal_id", None)
            await service.update_invoice(tenant, invoice_id, convert_input(values, schemas.InvoiceUpdate))
            if data.get("_then") == "send":
                await service.send_invoice(tenant, invoice_id, schemas.InvoiceSend(), queue)
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            errors = _editor_errors(exc, kept) if exc.field else {"send" if data.get("_then") == "send" else "form": exc.human}
            return await self._editor(request, tenant, form, invoice=current, errors=errors, status_code=422)
        return Redirect(path=f"/invoices/{invoice_id}", status_code=303)

    @post("/invoices/{invoice_id:int}/send", guards=[guard(policy.MANAGE)])
    async def send(
        self, request: Request[Any, Any, Any], tenant: TenantScope, queue: Queue, invoice_id: Id, data: Form
    ) -> Template | Redirect:
        """Issue the invoice (or send it again); its PDF is e-mailed when the server can send mail."""
        to = data.get("to", "").strip() or None
        try:
            result = await service.send_invoice(tenant, invoice_id, convert_input({"to": to} if to else {}, schemas.InvoiceSend), queue)
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._invoice_page(request, tenant, invoice_id, errors={"send": exc.human}, status_code=422)
        said = {
            "queued": f"Sent: the PDF is on its way to {result.emailed_to}.",
            "not_configured": "Marked as sent. E-mail is not set up on this server: download the PDF and send it yourself.",
            "no_recipient": "Marked as sent. The customer has no e-mail address: download the PDF and send it yourself.",
        }[result.email]
        if not getattr(request, "htmx", None):
            return Redirect(path=f"/invoices/{invoice_id}", status_code=303)
        return await self._invoice_page(request, tenant, invoice_id, message=said)

    @post("/invoices/{invoice_id:int}/payments", guards=[guard(policy.MANAGE)])
    async def pay(self, request: Request[Any, Any, Any], tenant: TenantScope, invoice_id: Id, data: Form) -> Template | Redirect:
        """Record a payment; more than the balance due is refused next to the amount, and nothing changes."""
        form = clean_form(data)
        values: dict[str, Any] = {
            k: v.strip() for k, v in form.items() if k in ("amount", "payment_method", "payment_reference", "notes") and v.strip()
        }
        if "amount" in values:
            values["amount"] = values["amount"].replace(",", "")
        if form.get("paid_on", "").strip():
            values["paid_at"] = f"{form['paid_on'].strip()}T12:00:00Z"
        try:
            result = await service.record_payment(tenant, invoice_id, convert_input(values, schemas.PaymentCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            errors = {("paid_on" if k == "paid_at" else k): v for k, v in form_errors(exc).items()}
            return await self._invoice_page(request, tenant, invoice_id, errors=errors, payment_form=form, status_code=422)
        if not getattr(request, "htmx", None):
            return Redirect(path=f"/invoices/{invoice_id}", status_code=303)
        paid = result.invoice
        said = f"Payment of {paid.currency} {result.payment.amount:,.2f} recorded: " + (
            "paid in full." if paid.status == "paid" else f"{paid.currency} {paid.balance_due:,.2f} still due."
        )
        return await self._invoice_page(request, tenant, invoice_id, message=said)

    @post("/invoices/{invoice_id:int}/void", guards=[guard(policy.MANAGE)])
    async def void(self, request: Request[Any, Any, Any], tenant: TenantScope, invoice_id: Id, data: Form) -> Template | Redirect:
        """Void the invoice with a reason (it keeps its number)."""
        try:
            await service.void_invoice(tenant, invoice_id, convert_input({"reason": data.get("reason", "").strip()}, schemas.InvoiceVoid))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._invoice_page(request, tenant, invoice_id, errors={"void": exc.human}, status_code=422)
        if not getattr(request, "htmx", None):
            return Redirect(path=f"/invoices/{invoice_id}", status_code=303)
        return await self._invoice_page(request, tenant, invoice_id, message="Voided. It keeps its number.")

    @post("/invoices/{invoice_id:int}/credit-note", guards=[guard(policy.MANAGE)])
    async def credit(self, request: Request[Any, Any, Any], tenant: TenantScope, invoice_id: Id, data: Form) -> Template | Redirect:
        """Credit an amount (before tax, at the invoice's tax rate) or, left blank, the whole unpaid invoice."""
        reason = data.get("reason", "").strip()
        amount = data.get("amount", "").replace(",", "").strip()
        values: dict[str, Any] = {"reason": reason}
        try:
            if amount:
                invoice = await service.get_invoice(tenant, invoice_id)
                rate = invoice.tax_rate if invoice.tax_rate is not None else Decimal(0)
                values["lines"] = [{"description": reason or "Credit", "unit_price": amount, "tax_rate": rate}]
            note = await service.create_credit_note(tenant, invoice_id, convert_input(values, schemas.CreditNoteCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            errors = {"credit": exc.human}
            return await self._invoice_page(request, tenant, invoice_id, errors=errors, status_code=422)
        return Redirect(path=f"/invoices/{note.id}", status_code=303)

    @get("/invoices/{invoice_id:int}/pdf")
    async def pdf(self, tenant: TenantScope, invoice_id: Id) -> Response[bytes]:
        """The invoice's PDF, to download."""
        document = await documents.invoice_pdf(tenant, invoice_id)
        return download(document.content, document.filename, PDF_MEDIA_TYPE)


# ============================================================================ expenses, the P&L, billing settings

EXPENSE_FIELDS = ("expense_date", "category", "vendor", "amount", "tax_amount", "currency", "note")


def _day(raw: str | None) -> date | None:
    """A date from a query string, or None for anything that is not one (the screens' filters are lenient)."""
    try:
        return date.fromisoformat(raw) if raw and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw) else None
    except ValueError:
        return None


def _expense_input(form: dict[str, Any]) -> dict[str, Any]:
    values = {k: str(form[k]).strip() for k in EXPENSE_FIELDS if isinstance(form.get(k), str) and str(form[k]).strip()}
    for name in ("amount", "tax_amount"):
        if name in values:
            values[name] = values[name].replace(",", "")
    if "currency" in values:
        values["currency"] = values["currency"].upper()
    return values


class FinancePagesController(Controller):
    """Expenses and the P&L screens."""

    include_in_schema = False

    # ------------------------------------------------------------------ expenses

    async def _expenses(
        self, request: Request[Any, Any, Any], tenant: TenantScope, state: dict[str, str], offset: int, **extra: Any
    ) -> Template:
        filters = expenses.ExpenseFilters(
            category=state["category"] or None, start_date=_day(state["start_date"]), end_date=_day(state["end_date"]), q=state["q"] or None
        )
        page = await expenses.list_expenses(tenant, filters, ListQuery(limit=PAGE_SIZE, offset=offset))
        query = urlencode({k: v for k, v in state.items() if v})
        ctx = {
            "active": "invoices",
            "section": "expenses",
            "state": state,
            "page": page,
            "query": query,
            "categories": await expenses.categories(tenant),
            "form": {"expense_date": date.today().isoformat()},
            "errors": {},
            "message": "",
        }
        ctx.update(extra)
        block = "results" if targets(request, "expense-results") else "content"
        pushed = "/expenses" + (f"?{query}" if query else "")
        return render(
            request,
            "billing/expenses.html",
            ctx,
            block=block,
            push_url=pushed if block == "results" else None,
            status_code=422 if ctx["errors"] else 200,
        )

    @get("/expenses", guards=[guard(policy.VIEW_EXPENSES)])
    async def expense_list(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        category: Annotated[str, Parameter(max_length=60)] = "",
        start_date: Annotated[str, Parameter(max_length=10)] = "",
        end_date: Annotated[str, Parameter(max_length=10)] = "",
        q: Annotated[str, Parameter(max_length=100)] = "",
        offset: Annotated[int, Parameter(ge=0, le=1_000_000)] = 0,
    ) -> Template:
        """Expenses, filtered by category, dates and a search kept in the URL, with the form to add one."""
        state = {"category": category.strip(), "start_date": start_date, "end_date": end_date, "q": q.strip()}
        return await self._expenses(request, tenant, state, offset)

    @post("/expenses", guards=[guard(policy.MANAGE_EXPENSES)])
    async def add_expense(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template | Redirect:
        """Record an expense (with its receipt when one is chosen); errors next to their fields, nothing recorded."""
        upload = data.get("receipt")
        try:
            created = await expenses.create_expense(tenant, convert_input(_expense_input(data), schemas.ExpenseCreate))
            if isinstance(upload, UploadFile) and upload.filename:
                content = await upload.read()
                if content:
                    try:
                        await expenses.set_receipt(tenant, created.id, upload.filename, content)
                    except DomainError:
                        await expenses.delete_expense(tenant, created.id)  # all or nothing: the person sends it again
                        raise
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            form = {k: v for k, v in data.items() if isinstance(v, str)}
            errors = {("receipt" if k == "file" else k): v for k, v in form_errors(exc).items()}
            state = {"category": "", "start_date": "", "end_date": "", "q": ""}
            return await self._expenses(request, tenant, state, 0, form=form, errors=errors)
        return Redirect(path="/expenses", status_code=303)

    @post("/expenses/{expense_id:int}/delete", guards=[guard(policy.MANAGE_EXPENSES)])
    async def remove_expense(self, tenant: TenantScope, expense_id: Id) -> Redirect:
        """Delete an expense recorded by mistake."""
        await expenses.delete_expense(tenant, expense_id)
        return Redirect(path="/expenses", status_code=303)

    @get("/expenses/{expense_id:int}/receipt", guards=[guard(policy.VIEW_EXPENSES)])
    async def expense_receipt(self, tenant: TenantScope, expense_id: Id) -> Response[bytes]:
        """The receipt as it was uploaded."""
        filename, media_type, content = await expenses.receipt(tenant, expense_id)
        return download(content, filename, media_type, inline=True)

    # ------------------------------------------------------------------ the P&L

    @get("/reports/profit-loss", guards=[guard(policy.REPORTS)])
    async def profit_loss(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        start_date: Annotated[str, Parameter(max_length=10)] = "",
        end_date: Annotated[str, Parameter(max_length=10)] = "",
        group_by: Annotated[str, Parameter(max_length=10)] = "month",
        convert: Annotated[str, Parameter(max_length=5)] = "",
    ) -> Template:
        """The P&L by month, quarter or year, with a chart, other currencies converted when asked; the range, grouping
        and conversion live in the URL."""
        grouping = group_by if group_by in ("month", "quarter", "year") else "month"
        converting = convert in ("1", "true", "on")
        error = ""
        try:
            report = await reports.profit_loss(tenant, _day(start_date), _day(end_date), grouping, None, converting)
        except ValidationFailed as exc:
            error = exc.human
            report = await reports.profit_loss(tenant, None, None, grouping, None, converting)
        state = {"start_date": report.start_date.isoformat(), "end_date": report.end_date.isoformat(), "group_by": grouping}
        if converting:
            state["convert"] = "1"
        query = urlencode(state)
        ctx = {
            "active": "invoices",
            "section": "pnl",
            "report": report,
            "state": state,
            "query": query,
            "error": error,
            "chart": chart(report),
        }
        block = "report" if targets(request, "pnl-report") else "content"
        return render(
            request, "billing/pnl.html", ctx, block=block, push_url=f"/reports/profit-loss?{query}" if block == "report" else None
        )

    @get("/reports/profit-loss/export", guards=[guard(policy.REPORTS)])
    async def export(
        self,
        tenant: TenantScope,
        format: Annotated[str, Parameter(max_length=4)] = "csv",
        start_date: Annotated[str, Parameter(max_length=10)] = "",
        end_date: Annotated[str, Parameter(max_length=10)] = "",
        group_by: Annotated[str, Parameter(max_length=10)] = "month",
        convert: Annotated[str, Parameter(max_length=5)] = "",
    ) -> Response[bytes]:
        """The report as CSV or Excel."""
        grouping = group_by if group_by in ("month", "quarter", "year") else "month"
        converting = convert in ("1", "true", "on")
        report = await reports.profit_loss(tenant, _day(start_date), _day(end_date), grouping, None, converting)
        filename, media_type, content = reports.file_of(report, "xlsx" if format == "xlsx" else "csv")
        return download(content, filename, media_type)

    # ------------------------------------------------------------------ billing settings

    @get("/billing/settings", guards=[guard(policy.SETTINGS)])
    async def settings_page(
        self, request: Request[Any, Any, Any], tenant: TenantScope, saved: Annotated[str, Parameter(max_length=1)] = ""
    ) -> Template:
        """What invoices say about the workspace, its currency, tax and terms, and its number patterns."""
        current = await billing_settings.get_settings(tenant)
        ctx = {"active": "invoices", "section": "settings", "form": _settings_form(current), "errors": {}, "settings": current}
        ctx |= await self._rates(tenant)
        return render(request, "billing/settings.html", {**ctx, "request_saved": saved == "1"})

    async def _rates(
        self, tenant: TenantScope, form: dict[str, str] | None = None, errors: dict[str, str] | None = None, message: str = ""
    ) -> dict[str, Any]:
        rates = await exchange_rates.list_rates(tenant)
        return {"rates": rates, "rate_form": form or {}, "rate_errors": errors or {}, "rate_message": message}

    async def _rates_card(self, request: Request[Any, Any, Any], tenant: TenantScope, status_code: int = 200, **kw: Any) -> Template:
        settings = await billing_settings.get_settings(tenant)
        ctx = {"active": "invoices", "section": "settings", "settings": settings, **await self._rates(tenant, **kw)}
        return render(request, "billing/settings.html", ctx, block="rates", status_code=status_code)

    @post("/billing/exchange-rates", guards=[guard(policy.SETTINGS)])
    async def add_rate(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Keep a rate (the same currency and day: replaced); errors next to their fields, nothing kept."""
        form = clean_form(data)
        values = {"currency": form.get("currency", "").strip().upper(), "rate": form.get("rate", "").strip().replace(",", "")}
        values["effective_on"] = form.get("effective_on", "").strip()
        try:
            kept, inserted = await exchange_rates.set_rate(tenant, convert_input(values, schemas.ExchangeRateInput))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._rates_card(request, tenant, 422, form=form, errors=form_errors(exc))
        done = f"1 {kept.currency} = {kept.rate.normalize():f} {kept.base_currency} from {kept.effective_on:%d %b %Y}" + (
            " kept." if inserted else " (replaced the rate of that day)."
        )
        if not targets(request, "exchange-rates"):
            return Redirect(path="/billing/settings#exchange-rates", status_code=303)
        return await self._rates_card(request, tenant, message=done)

    @post("/billing/exchange-rates/{rate_id:int}/delete", guards=[guard(policy.SETTINGS)])
    async def delete_rate(self, request: Request[Any, Any, Any], tenant: TenantScope, rate_id: Id) -> Template | Redirect:
        """Forget a rate."""
        await exchange_rates.delete_rate(tenant, rate_id)
        if not targets(request, "exchange-rates"):
            return Redirect(path="/billing/settings#exchange-rates", status_code=303)
        return await self._rates_card(request, tenant, message="Rate removed.")

    @post("/billing/settings", guards=[guard(policy.SETTINGS)])
    async def save_settings(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template | Redirect:
        """Save the settings (and the logo, when one is chosen); errors next to their fields, nothing saved."""
        form = {k: v for k, v in data.items() if isinstance(v, str) and not k.startswith("_")}
        values: dict[str, Any] = {k: v.strip() if k != "default_terms" else v for k, v in form.items() if k in SETTINGS_FIELDS}
        if values.get("default_tax_rate"):
            values["default_tax_rate"] = fraction_of_percent(values["default_tax_rate"])
        else:
            values.pop("default_tax_rate", None)
        if "currency" in values:
            values["currency"] = values["currency"].upper()
        logo = data.get("logo")
        try:
            await billing_settings.update_settings(tenant, convert_input(values, schemas.BillingSettingsUpdate))
            if isinstance(logo, UploadFile) and logo.filename:
                content = await logo.read()
                if content:
                    await billing_settings.set_logo(tenant, content)
            if data.get("remove_logo") == "1":
                await billing_settings.remove_logo(tenant)
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            current = await billing_settings.get_settings(tenant)
            errors = {("logo" if k == "file" else k): v for k, v in form_errors(exc).items()}
            ctx = {"active": "invoices", "section": "settings", "form": form, "errors": errors, "settings": current, "request_saved": False}
            ctx |= await self._rates(tenant)
            return render(request, "billing/settings.html", ctx, status_code=422)
        return Redirect(path="/billing/settings?saved=1", status_code=303)

    @get("/billing/logo", guards=[guard(policy.VIEW)])
    async def logo(self, tenant: TenantScope) -> Response[bytes]:
        """The logo printed on invoices (for the settings screen)."""
        found = await billing_settings.logo(tenant)
        if found is None:
            raise ResourceNotFound("This workspace's invoices have no logo")
        return Response(found[0], media_type=found[1], headers={"Cache-Control": "private, no-cache"})


SETTINGS_FIELDS = (
    "legal_name",
    "address",
    "tax_id",
    "email",
    "phone",
    "currency",
    "default_tax_rate",
    "payment_terms_days",
    "number_pattern",
    "credit_note_pattern",
    "default_terms",
)


def _settings_form(current: schemas.BillingSettings) -> dict[str, str]:
    form = {name: str(getattr(current, name)) for name in SETTINGS_FIELDS}
    form["default_tax_rate"] = f"{(current.default_tax_rate * 100).normalize():f}"
    return form


# --------------------------------------------------------------------------- the chart


def chart(report: schemas.ProfitLoss, width: int = 720, height: int = 240) -> dict[str, Any]:
    """Bars of revenue invoiced and expenses per period and the net profit as a line, as SVG geometry for the template
    (drawn on the server: no script, readable by screen readers through the table beside it)."""
    lines = report.periods
    values = [v for p in lines for v in (p.invoiced, p.expenses, p.net_profit)] or [Decimal(0)]
    top, bottom = max(max(values), Decimal(0)), min(min(values), Decimal(0))
    span = (top - bottom) or Decimal(1)
    pad, chart_height = 28, height - 48
    slot = (width - pad) / max(len(lines), 1)
    bar = max(min(slot / 3, 28), 2)

    def y(value: Decimal) -> float:
        return pad / 2 + float((top - value) / span) * chart_height

    zero = y(Decimal(0))
    bars, points, labels = [], [], []
    for n, period in enumerate(lines):
        x = pad + n * slot + (slot - 2 * bar) / 2
        for k, (value, kind) in enumerate(((period.invoiced, "revenue"), (period.expenses, "expense"))):
            top_y = min(y(value), zero)
            bars.append(
                {
                    "x": round(x + k * bar, 1),
                    "y": round(top_y, 1),
                    "w": round(bar - 1, 1),
                    "h": round(abs(zero - y(value)), 1),
                    "kind": kind,
                    "title": f"{period.period}: {kind} {value:,.2f}",
                }
            )
        points.append(f"{pad + n * slot + slot / 2:.1f},{y(period.net_profit):.1f}")
        if len(lines) <= 16 or n % max(len(lines) // 12, 1) == 0:
            labels.append({"x": round(pad + n * slot + slot / 2, 1), "text": period.period})
    return {
        "width": width,
        "height": height,
        "zero": round(zero, 1),
        "bars": bars,
        "points": " ".join(points),
        "labels": labels,
        "top": top,
        "bottom": bottom,
    }


# ============================================================================ a lead's ROI calculator

# The calculator's fields: (name, label, kind): money, a percentage typed as such (5 for 5 %), or a number of years.
ROI_FIELDS = (
    ("price", "Price", "money"),
    ("annual_rent", "Rent a year", "money"),
    ("service_charges", "Service charges a year", "money"),
    ("fees_rate", "Buying fees %", "percent"),
    ("vacancy_rate", "Vacancy %", "percent"),
    ("rent_growth", "Rent growth % a year", "percent"),
    ("appreciation_rate", "Appreciation % a year", "percent"),
    ("selling_cost_rate", "Selling costs %", "percent"),
    ("holding_years", "Years held", "years"),
    ("loan_to_value", "Mortgage % of price", "percent"),
    ("interest_rate", "Interest % a year", "percent"),
    ("loan_term_years", "Mortgage years", "years"),
)


def roi_overrides(form: dict[str, str]) -> tuple[roi_reports.RoiOverrides, dict[str, str]]:
    """The calculator's form as the report's assumptions, and what could not be read (field → what to do)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, _, kind in ROI_FIELDS:
        raw = form.get(name, "").strip().replace(",", "")
        if not raw:
            continue
        try:
            if kind == "years":
                if not re.fullmatch(r"[0-9]{1,2}", raw) or not 1 <= int(raw) <= (30 if name == "holding_years" else 35):
                    raise ValueError
                values[name] = int(raw)
            else:
                number = fraction_of_percent(raw) if kind == "percent" else Decimal(raw)
                if not isinstance(number, Decimal) or not number.is_finite():
                    raise ValueError
                values[name] = number
        except (ValueError, InvalidOperation):
            errors[name] = "Enter a number of years" if kind == "years" else "Enter a number"
    return roi_reports.RoiOverrides(**values), errors


def _roi_form(report: schemas.RoiReport) -> dict[str, str]:
    """The case's assumptions as the calculator shows them (percentages as typed)."""
    a = report.assumptions
    form = {}
    for name, _, kind in ROI_FIELDS:
        value = getattr(a, name)
        form[name] = f"{(value * 100).normalize():f}" if kind == "percent" else (str(value) if kind == "years" else f"{value:f}")
    return form


# The pages an ROI calculator sits on: kind → its path.
ROI_SUBJECTS = {"lead": "/leads", "property": "/properties"}


class RoiPagesController(Controller):
    """The ROI calculator of a lead or a property: live figures as the assumptions change, and the PDF."""

    path = "/"
    include_in_schema = False
    guards = [guard(policy.ROI)]

    async def _card(
        self, request: Request[Any, Any, Any], tenant: TenantScope, kind: str, subject_id: int, form: dict[str, str], *, block: str
    ) -> Template:
        overrides, errors = roi_overrides(form)
        try:
            report, _ = await roi_reports.investment_case(tenant, kind, subject_id, overrides)
        except ValidationFailed as exc:
            errors.update(form_errors(exc))
            # Without its assumptions: a rental without an estimated value has no price to fall back on.
            report, _ = await roi_reports.investment_case(tenant, kind, subject_id, roi_reports.RoiOverrides(price=overrides.price))
        shown = {**_roi_form(report), **{k: v for k, v in form.items() if k in errors}}
        query = urlencode({name: shown[name] for name, _, _ in ROI_FIELDS})
        base = f"{ROI_SUBJECTS[kind]}/{subject_id}"
        ctx = {"active": ROI_SUBJECTS[kind][1:], "report": report, "form": shown, "errors": errors, "fields": ROI_FIELDS}
        ctx |= {"pdf_query": query, "base": base, "oob": block == "figures"}  # the PDF link follows the figures
        return render(request, "billing/roi.html", ctx, block=block, status_code=422 if errors else 200)

    @get(["/leads/{subject_id:int}/roi", "/properties/{subject_id:int}/roi"])
    async def card(self, request: Request[Any, Any, Any], tenant: TenantScope, subject_id: Id) -> Template:
        """The calculator with the lead's budget or the property's price and rent (their pages show it as a card)."""
        return await self._card(request, tenant, _roi_kind(request), subject_id, {}, block="card")

    @post(["/leads/{subject_id:int}/roi", "/properties/{subject_id:int}/roi"])
    async def figures(self, request: Request[Any, Any, Any], tenant: TenantScope, subject_id: Id, data: Form) -> Template:
        """The figures for what is typed (nothing is kept)."""
        block = "figures" if targets(request, "roi-figures") else "card"
        return await self._card(request, tenant, _roi_kind(request), subject_id, clean_form(data), block=block)

    @get(["/leads/{subject_id:int}/roi/pdf", "/properties/{subject_id:int}/roi/pdf"])
    async def roi_pdf(self, request: Request[Any, Any, Any], tenant: TenantScope, subject_id: Id) -> Response[bytes]:
        """The report for what the calculator shows, as a PDF to hand to the investor."""
        overrides, errors = roi_overrides(dict(request.query_params))
        if errors:
            field, problem = next(iter(errors.items()))
            raise ValidationFailed(f"Invalid {field}", details={"field": field}, human=problem)
        filename, content = await roi_reports.roi_pdf(tenant, _roi_kind(request), subject_id, overrides)
        return download(content, filename, PDF_MEDIA_TYPE)


def _roi_kind(request: Request[Any, Any, Any]) -> str:
    return "property" if request.url.path.startswith("/properties/") else "lead"
