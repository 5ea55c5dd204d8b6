"""Browser UI for invoices: the list (status tabs, search and totals in the URL, overdue rows marked), the editor (line
rows added and removed with htmx, totals recomputed as you type), an invoice's page (send, record a payment, void,
credit, download or e-mail the PDF), and invoices from a deal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Response, Template
from saq import Queue

from app.billing import billing_settings, documents, money, policy, schemas, service
from app.contacts import service as contacts
from app.core.errors import DomainError, ValidationFailed
from app.core.pagination import ListQuery
from app.core.validation import convert_input
from app.db import TenantScope, tenant_transaction
from app.events.service import Subject
from app.events.service import timeline as read_timeline
from app.pipeline import service as deals
from app.web.auth import guard
from app.web.ui import Form, clean_form, form_errors, refusal_stays_on_page, render, targets

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
        }
        block = "results" if targets(request, "invoice-results") else "content"
        return render(request, "billing/invoices.html", ctx, block=block, push_url=self_url if block == "results" else None)

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
        headers = {"Content-Disposition": f'attachment; filename="{document.filename}"', "Cache-Control": "private, no-store"}
        return Response(document.content, media_type=PDF_MEDIA_TYPE, headers=headers)
