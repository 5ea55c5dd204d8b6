"""JSON API: invoices, payments and credit notes (NeuraCRM guide §7.1), invoice PDFs, the billing settings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.params import Body, Parameter
from saq import Queue

from app.billing import batches, billing_settings, documents, exchange_rates, expenses, policy, reports, roi_reports, schemas, service
from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.schemas import MONEY_PATTERN, RATE_PATTERN, RequestBody
from app.core.scopes import resource_opt
from app.core.validation import list_pattern
from app.db import TenantScope
from app.web.auth import guard
from app.web.etag import IfMatch
from app.web.json import ApiResponse
from app.web.openapi import success_media_types
from app.web.ui import download

# No bounds in the schema (JSON Schema readers compare them as floats): an id past bigint names no invoice (404).
InvoiceId = Annotated[int, Parameter(description="Invoice id")]
IdParam = Annotated[int | None, Parameter(ge=1, le=2**63 - 1)]
STATUS_LIST_PATTERN = list_pattern(schemas.STATUSES)
PDF_MEDIA_TYPE = "application/pdf"


async def provide_invoice_filters(
    status: Annotated[
        str | None, Parameter(description="Status, or several separated by commas: `sent,overdue`", pattern=STATUS_LIST_PATTERN)
    ] = None,
    customer_account_id: Annotated[IdParam, Parameter(description="Invoices to this company")] = None,
    contact_id: Annotated[IdParam, Parameter(description="Invoices to this contact")] = None,
    deal_id: Annotated[IdParam, Parameter(description="Invoices of this deal")] = None,
    start_date: Annotated[date | None, Parameter(description="Issued on or after this day")] = None,
    end_date: Annotated[date | None, Parameter(description="Issued on or before this day")] = None,
    overdue: Annotated[bool | None, Parameter(description="true: only invoices past due with money owed; false: none of them")] = None,
    q: Annotated[str | None, Parameter(max_length=100, description="Search the number, the customer's name and the description")] = None,
    kind: Annotated[schemas.InvoiceKind | None, Parameter(description="invoice or credit_note")] = None,
) -> service.InvoiceFilters:
    """The filters of the invoice list."""
    return service.InvoiceFilters(
        status=service.parse_statuses(status),
        customer_account_id=customer_account_id,
        contact_id=contact_id,
        deal_id=deal_id,
        issued_from=start_date,
        issued_to=end_date,
        overdue=overdue,
        q=q.strip() or None if q else None,
        kind=kind,
    )


class InvoiceController(Controller):
    """Invoices and credit notes, their payments and PDFs."""

    path = "/v2/invoices"
    opt = resource_opt("invoices")  # its scopes: invoices:read, invoices:write
    tags = ["Billing"]

    @get(
        "/",
        operation_id="listInvoices",
        summary="List invoices",
        guards=[guard(policy.VIEW)],
        dependencies={"filters": Provide(provide_invoice_filters)},
        opt={SORTS_OPT: service.SORTS},
    )
    async def list_invoices(
        self, tenant: TenantScope, list_query: ListQuery, filters: service.InvoiceFilters
    ) -> Page[schemas.InvoiceSummary]:
        """Newest issue date first (`sort=-issue_date`); also by `due_date`, `invoice_number`, `total_amount`, `balance_due`,
        `created_at`. `is_overdue` is true for invoices past due with money still owed."""
        return await service.list_invoices(tenant, filters, list_query)

    @post("/", operation_id="createInvoice", summary="Create an invoice", guards=[guard(policy.MANAGE)], status_code=201)
    async def create_invoice(self, tenant: TenantScope, data: schemas.InvoiceCreate) -> ApiResponse[schemas.Invoice]:
        """A numbered draft (`INV-2026-0001`, the next of the workspace's series: consecutive, never reused). The customer is
        `customer_account_id` (a company) or `contact_id`, else the deal's. Line items in `lines`, or the guide's single line:
        `subtotal`, `tax_rate`, `description`. Each line is rounded to the cent; totals are the lines' sums. Publishes
        `invoice.created`."""
        invoice = await service.create_invoice(tenant, data)
        return ApiResponse(invoice, status_code=201, headers={"Location": f"/v2/invoices/{invoice.id}"})

    @post(
        "/batches",
        operation_id="sendInvoiceBatch",
        summary="Send every draft of a month",
        guards=[guard(policy.MANAGE)],
        status_code=202,
    )
    async def send_batch(self, tenant: TenantScope, queue: Queue, data: schemas.BatchCreate) -> ApiResponse[schemas.Batch]:
        """Every draft invoice (with lines) issued in `month` is rendered to PDF, e-mailed to its customer when SMTP is
        configured, and marked sent, by background jobs spread over the workers. Follow `processed` of `total` at the
        `Location`. A month with no draft answers 422."""
        batch = await batches.start_batch(tenant, data, queue)
        return ApiResponse(batch, status_code=202, headers={"Location": f"/v2/invoices/batches/{batch.id}"})

    @get("/batches/{batch_id:int}", operation_id="getInvoiceBatch", summary="How far a batch has got", guards=[guard(policy.VIEW)])
    async def get_batch(self, tenant: TenantScope, batch_id: Annotated[int, Parameter(description="Batch id")]) -> schemas.Batch:
        """`status` queued, running or done; `processed` of `total` invoices."""
        return await batches.get_batch(tenant, batch_id)

    @get("/{invoice_id:int}", operation_id="getInvoice", summary="Get an invoice", guards=[guard(policy.VIEW)])
    async def get_invoice(self, tenant: TenantScope, invoice_id: InvoiceId) -> schemas.Invoice:
        """With its lines, tax summary, payments and credit notes; 404 for other tenants' ids."""
        return await service.get_invoice(tenant, invoice_id)

    @patch("/{invoice_id:int}", operation_id="updateInvoice", summary="Change a draft invoice", guards=[guard(policy.MANAGE)])
    async def update_invoice(
        self, tenant: TenantScope, invoice_id: InvoiceId, data: schemas.InvoiceUpdate, if_match: IfMatch = None
    ) -> schemas.Invoice:
        """Only drafts change (409 otherwise: correct a sent invoice with a credit note). `lines` replaces every line.
        Honours `If-Match`."""
        return await service.update_invoice(tenant, invoice_id, data, if_match=if_match)

    @post(
        "/{invoice_id:int}/send",
        operation_id="sendInvoice",
        summary="Issue and e-mail an invoice",
        guards=[guard(policy.MANAGE)],
        status_code=200,
    )
    async def send_invoice(
        self, tenant: TenantScope, queue: Queue, invoice_id: InvoiceId, data: schemas.InvoiceSend | None = None
    ) -> schemas.SendResult:
        """A draft becomes `sent`; a sent one is sent again. With SMTP configured the PDF is e-mailed (to `to`, else the
        customer's address) by a background job: `email` says `queued`, `not_configured` or `no_recipient`. Publishes
        `invoice.sent`."""
        return await service.send_invoice(tenant, invoice_id, data or schemas.InvoiceSend(), queue)

    @post("/{invoice_id:int}/void", operation_id="voidInvoice", summary="Void an invoice", guards=[guard(policy.MANAGE)], status_code=200)
    async def void_invoice(self, tenant: TenantScope, invoice_id: InvoiceId, data: schemas.InvoiceVoid) -> schemas.Invoice:
        """With a `reason`; it keeps its number. An invoice with payments or credits answers 409 (issue a credit note).
        Publishes `invoice.voided`; audited."""
        return await service.void_invoice(tenant, invoice_id, data)

    @post(
        "/{invoice_id:int}/payments",
        operation_id="recordPayment",
        summary="Record a payment",
        guards=[guard(policy.MANAGE)],
        status_code=201,
    )
    async def record_payment(
        self, tenant: TenantScope, invoice_id: InvoiceId, data: schemas.PaymentCreate
    ) -> ApiResponse[schemas.PaymentResult]:
        """§7.1 Process Payment: `amount`, `payment_method`, `payment_reference`, `paid_at` (default now). Partial payments
        are fine; more than the balance due answers 422 (`details.reason: exceeds_balance`, `details.balance_due`) and
        nothing changes. Paying the rest marks it `paid` and publishes `invoice.paid`. Send an `Idempotency-Key` to retry
        safely: the first answer is replayed and no second payment is recorded."""
        result = await service.record_payment(tenant, invoice_id, data)
        return ApiResponse(result, status_code=201, headers={"Location": f"/v2/invoices/{invoice_id}/payments"})

    @get("/{invoice_id:int}/payments", operation_id="listPayments", summary="An invoice's payments", guards=[guard(policy.VIEW)])
    async def list_payments(self, tenant: TenantScope, invoice_id: InvoiceId) -> list[schemas.Payment]:
        """Oldest first."""
        return await service.list_payments(tenant, invoice_id)

    @post(
        "/{invoice_id:int}/credit-notes",
        operation_id="createCreditNote",
        summary="Correct a sent invoice with a credit note",
        guards=[guard(policy.MANAGE)],
        status_code=201,
    )
    async def create_credit_note(
        self, tenant: TenantScope, invoice_id: InvoiceId, data: schemas.CreditNoteCreate
    ) -> ApiResponse[schemas.Invoice]:
        """Numbered from the credit-note pattern (`CN-2026-0001`) and issued at once; its total comes off the invoice's balance
        (at most all of it: 422 `exceeds_balance`). Without `lines` it credits the whole invoice (only when nothing is paid).
        Publishes `invoice.credited`; audited."""
        note = await service.create_credit_note(tenant, invoice_id, data)
        return ApiResponse(note, status_code=201, headers={"Location": f"/v2/invoices/{note.id}"})

    @get(
        "/{invoice_id:int}/pdf",
        operation_id="getInvoicePdf",
        summary="The invoice as a PDF",
        guards=[guard(policy.VIEW)],
        media_type=PDF_MEDIA_TYPE,
        operation_class=success_media_types(200, {PDF_MEDIA_TYPE: Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)}),
    )
    async def invoice_pdf(self, tenant: TenantScope, invoice_id: InvoiceId) -> Response[bytes]:
        """The seller (name, logo, address from the billing settings), the customer as billed, the lines (their header
        repeated on every page), totals, tax summary, payment status and payments, terms, "Page x of y"."""
        document = await documents.invoice_pdf(tenant, invoice_id)
        return download(document.content, document.filename, PDF_MEDIA_TYPE)


class LogoUpload(RequestBody):
    """The multipart upload of a logo: a PNG or JPEG image of at most 512 KB."""

    file: UploadFile


class BillingSettingsController(Controller):
    """What invoices say about the workspace, and how they are numbered."""

    path = "/v2/billing/settings"
    opt = resource_opt("billing")  # its scopes: billing:read, billing:write
    tags = ["Billing"]

    @get("/", operation_id="getBillingSettings", summary="The billing settings", guards=[guard(policy.VIEW)])
    async def get_settings(self, tenant: TenantScope) -> schemas.BillingSettings:
        """Legal name (blank: the workspace's name), address, tax number, contact details, currency, default tax rate,
        payment terms in days, the invoice and credit-note number patterns, default terms, whether there is a logo."""
        return await billing_settings.get_settings(tenant)

    @patch("/", operation_id="updateBillingSettings", summary="Change the billing settings", guards=[guard(policy.SETTINGS)])
    async def update_settings(self, tenant: TenantScope, data: schemas.BillingSettingsUpdate) -> schemas.BillingSettings:
        """Finance and admins. A number pattern holds one `{NNNN}` (3 to 8 N: the digits), after `{YYYY}`, `{YY}` or
        `{MM}` if any; each year (or month) named in it is a series of its own, counted from 1. Audited."""
        return await billing_settings.update_settings(tenant, data)

    @put(
        "/logo",
        operation_id="uploadBillingLogo",
        summary="Upload the logo printed on invoices",
        guards=[guard(policy.SETTINGS)],
        request_max_body_size=billing_settings.MAX_LOGO_BYTES + 64 * 1024,
    )
    async def upload_logo(
        self, tenant: TenantScope, data: Annotated[LogoUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
    ) -> schemas.BillingSettings:
        """Multipart `file`: a PNG or JPEG image of at most 512 KB (422 `details.reason: file_type` for anything else)."""
        return await billing_settings.set_logo(tenant, await data.file.read())

    @delete("/logo", operation_id="removeBillingLogo", summary="Remove the logo", guards=[guard(policy.SETTINGS)], status_code=200)
    async def remove_logo(self, tenant: TenantScope) -> schemas.BillingSettings:
        """Invoices print no logo from now on."""
        return await billing_settings.remove_logo(tenant)


async def provide_expense_filters(
    category: Annotated[str | None, Parameter(max_length=60, description="Expenses of this category")] = None,
    start_date: Annotated[date | None, Parameter(description="On or after this day")] = None,
    end_date: Annotated[date | None, Parameter(description="On or before this day")] = None,
    q: Annotated[str | None, Parameter(max_length=100, description="Search the vendor, the category and the note")] = None,
) -> expenses.ExpenseFilters:
    """The filters of the expense list."""
    return expenses.ExpenseFilters(category=category or None, start_date=start_date, end_date=end_date, q=q.strip() or None if q else None)


class ReceiptUpload(RequestBody):
    """The multipart upload of a receipt: a PDF, PNG or JPEG file of at most 5 MB."""

    file: UploadFile


# No bounds in the schema (JSON Schema readers compare them as floats): an id past bigint names no expense (404).
ExpenseId = Annotated[int, Parameter(description="Expense id")]


class ExpenseController(Controller):
    """Expenses, for the P&L."""

    path = "/v2/expenses"
    opt = resource_opt("expenses")  # its scopes: expenses:read, expenses:write
    tags = ["Billing"]

    @get(
        "/",
        operation_id="listExpenses",
        summary="List expenses",
        guards=[guard(policy.VIEW_EXPENSES)],
        dependencies={"filters": Provide(provide_expense_filters)},
        opt={SORTS_OPT: expenses.SORTS},
    )
    async def list_expenses(self, tenant: TenantScope, list_query: ListQuery, filters: expenses.ExpenseFilters) -> Page[schemas.Expense]:
        """Newest first (`sort=-expense_date`); also by `amount`, `category`, `created_at`."""
        return await expenses.list_expenses(tenant, filters, list_query)

    @post("/", operation_id="createExpense", summary="Record an expense", guards=[guard(policy.MANAGE_EXPENSES)], status_code=201)
    async def create_expense(self, tenant: TenantScope, data: schemas.ExpenseCreate) -> ApiResponse[schemas.Expense]:
        """`amount` before tax and `tax_amount`, in the workspace's currency unless `currency` says otherwise."""
        expense = await expenses.create_expense(tenant, data)
        return ApiResponse(expense, status_code=201, headers={"Location": f"/v2/expenses/{expense.id}"})

    @get("/{expense_id:int}", operation_id="getExpense", summary="Get an expense", guards=[guard(policy.VIEW_EXPENSES)])
    async def get_expense(self, tenant: TenantScope, expense_id: ExpenseId) -> schemas.Expense:
        """404 for other tenants' ids."""
        return await expenses.get_expense(tenant, expense_id)

    @patch("/{expense_id:int}", operation_id="updateExpense", summary="Change an expense", guards=[guard(policy.MANAGE_EXPENSES)])
    async def update_expense(self, tenant: TenantScope, expense_id: ExpenseId, data: schemas.ExpenseUpdate) -> schemas.Expense:
        """Audited."""
        return await expenses.update_expense(tenant, expense_id, data)

    @delete("/{expense_id:int}", operation_id="deleteExpense", summary="Delete an expense", guards=[guard(policy.MANAGE_EXPENSES)])
    async def delete_expense(self, tenant: TenantScope, expense_id: ExpenseId) -> None:
        """With its receipt. Audited."""
        await expenses.delete_expense(tenant, expense_id)

    @put(
        "/{expense_id:int}/receipt",
        operation_id="uploadExpenseReceipt",
        summary="Attach the receipt",
        guards=[guard(policy.MANAGE_EXPENSES)],
        request_max_body_size=expenses.MAX_RECEIPT_BYTES + 64 * 1024,
    )
    async def upload_receipt(
        self, tenant: TenantScope, expense_id: ExpenseId, data: Annotated[ReceiptUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
    ) -> schemas.Expense:
        """Multipart `file`: a PDF, PNG or JPEG of at most 5 MB (422 `details.reason: file_type` otherwise); replaces the old one."""
        return await expenses.set_receipt(tenant, expense_id, data.file.filename or "receipt", await data.file.read())

    @get(
        "/{expense_id:int}/receipt",
        operation_id="getExpenseReceipt",
        summary="The receipt",
        guards=[guard(policy.VIEW_EXPENSES)],
        media_type="application/octet-stream",
        operation_class=success_media_types(
            200,
            {kind: Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY) for kind in ("application/pdf", "image/png", "image/jpeg")},
        ),
    )
    async def receipt(self, tenant: TenantScope, expense_id: ExpenseId) -> Response[bytes]:
        """The file as it was uploaded; 404 when there is none."""
        filename, media_type, content = await expenses.receipt(tenant, expense_id)
        return download(content, filename, media_type)


class ExchangeRateController(Controller):
    """Exchange rates into the workspace's billing currency, which a converted P&L uses."""

    path = "/v2/billing/exchange-rates"
    opt = resource_opt("billing")  # its scopes: billing:read, billing:write
    tags = ["Billing"]

    @get("/", operation_id="listExchangeRates", summary="Exchange rates", guards=[guard(policy.REPORTS)])
    async def list_rates(self, tenant: TenantScope) -> list[schemas.ExchangeRate]:
        """Every rate kept, by currency, newest first: one `currency` is worth `rate` of `base_currency` from
        `effective_on` on."""
        return await exchange_rates.list_rates(tenant)

    @post(
        "/",
        operation_id="setExchangeRate",
        summary="Keep an exchange rate",
        guards=[guard(policy.SETTINGS)],
        responses={200: ResponseSpec(schemas.ExchangeRate, description="It replaced the rate of the same currency and day")},
    )
    async def set_rate(self, tenant: TenantScope, data: schemas.ExchangeRateInput) -> ApiResponse[schemas.ExchangeRate]:
        """Finance and admins: 201 with a new rate, 200 when it replaces the rate of the same currency and day. The
        workspace's own currency needs none (422 `reason: base_currency`). Audited."""
        kept, inserted = await exchange_rates.set_rate(tenant, data)
        return ApiResponse(kept, status_code=201 if inserted else 200)

    @delete(
        "/{rate_id:int}",
        operation_id="deleteExchangeRate",
        summary="Forget an exchange rate",
        guards=[guard(policy.SETTINGS)],
    )
    async def delete_rate(self, tenant: TenantScope, rate_id: Annotated[int, Parameter(description="Rate id")]) -> None:
        """Finance and admins. Audited."""
        await exchange_rates.delete_rate(tenant, rate_id)


class ReportController(Controller):
    """Financial reports (NeuraCRM guide §7.2)."""

    path = "/v2/financial/reports"
    opt = resource_opt("reports")  # its scopes: reports:read, reports:write
    tags = ["Billing"]

    @get("/profit-loss", operation_id="getProfitLoss", summary="Profit and loss", guards=[guard(policy.REPORTS)])
    async def profit_loss(
        self,
        tenant: TenantScope,
        start_date: Annotated[date | None, Parameter(description="Period start (default: 1 January this year)")] = None,
        end_date: Annotated[date | None, Parameter(description="Period end, included (default: today)")] = None,
        group_by: Annotated[schemas.GroupBy, Parameter(description="month, quarter or year")] = "month",
        currency: Annotated[
            str | None, Parameter(pattern="^[A-Z]{3}$", description="The currency reported (default: the workspace's)")
        ] = None,
        convert: Annotated[
            bool, Parameter(description="Count documents in other currencies, each at the exchange rate in force on its date")
        ] = False,
    ) -> schemas.ProfitLoss:
        """§7.2: per period, revenue `invoiced` (before tax, credit notes taken off) and `collected`, `expenses` by category
        (before tax), `net_profit` and `net_cash`; `totals` are the periods' sums and match the invoices and payments to the
        cent. Documents in other currencies are left out and listed in `other_currencies`; with `convert=true` (a report in
        the workspace's own currency) each is converted at the workspace's exchange rate in force on its date, rounded to
        the cent, `rates_used` lists the rates, and only documents without a rate are left out."""
        return await reports.profit_loss(tenant, start_date, end_date, group_by, currency, convert)

    @get(
        "/profit-loss/export",
        operation_id="exportProfitLoss",
        summary="Profit and loss as CSV or Excel",
        guards=[guard(policy.REPORTS)],
        media_type="text/csv",
        operation_class=success_media_types(
            200, {kind: Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY) for kind in reports.FILE_TYPES.values()}
        ),
    )
    async def export_profit_loss(
        self,
        tenant: TenantScope,
        format: Annotated[Literal["csv", "xlsx"], Parameter(description="csv or xlsx")] = "csv",
        start_date: Annotated[date | None, Parameter(description="Period start (default: 1 January this year)")] = None,
        end_date: Annotated[date | None, Parameter(description="Period end, included (default: today)")] = None,
        group_by: Annotated[schemas.GroupBy, Parameter(description="month, quarter or year")] = "month",
        currency: Annotated[
            str | None, Parameter(pattern="^[A-Z]{3}$", description="The currency reported (default: the workspace's)")
        ] = None,
        convert: Annotated[
            bool, Parameter(description="Count documents in other currencies, each at the exchange rate in force on its date")
        ] = False,
    ) -> Response[bytes]:
        """The same report, one row per period and a totals row, a column per expense category."""
        report = await reports.profit_loss(tenant, start_date, end_date, group_by, currency, convert)
        filename, media_type, content = reports.file_of(report, format)
        return download(content, filename, media_type)


MoneyQuery = Annotated[Decimal | None, Parameter(schema_extra={"pattern": MONEY_PATTERN})]
RateQuery = Annotated[Decimal | None, Parameter(schema_extra={"pattern": RATE_PATTERN})]


async def provide_roi_overrides(
    price: Annotated[MoneyQuery, Parameter(description="Purchase price (default: the lead's budget)")] = None,
    annual_rent: Annotated[MoneyQuery, Parameter(description="A year's rent before vacancy (default: 6 % of the price)")] = None,
    service_charges: Annotated[MoneyQuery, Parameter(description="A year's service charges (default: 1 % of the price)")] = None,
    fees_rate: Annotated[RateQuery, Parameter(description="Buying fees on the price (default 0.06)")] = None,
    vacancy_rate: Annotated[RateQuery, Parameter(description="Share of the year without a tenant (default 0.05)")] = None,
    rent_growth: Annotated[RateQuery, Parameter(description="Rent and charges growth a year (default 0.02)")] = None,
    appreciation_rate: Annotated[RateQuery, Parameter(description="Value growth a year (default 0.03)")] = None,
    holding_years: Annotated[int | None, Parameter(ge=1, le=30, description="Years until the sale (default 5)")] = None,
    loan_to_value: Annotated[RateQuery, Parameter(description="Mortgage as a share of the price, at most 0.95 (default 0: cash)")] = None,
    interest_rate: Annotated[RateQuery, Parameter(description="Mortgage interest a year (default 0.045)")] = None,
    loan_term_years: Annotated[int | None, Parameter(ge=1, le=35, description="Mortgage term in years (default 25)")] = None,
    selling_cost_rate: Annotated[RateQuery, Parameter(description="Costs of the sale on its price (default 0.02)")] = None,
) -> roi_reports.RoiOverrides:
    """The ROI report's assumptions that the caller changes (rates are fractions: 0.05 is 5 %)."""
    return roi_reports.RoiOverrides(
        price=price,
        annual_rent=annual_rent,
        service_charges=service_charges,
        fees_rate=fees_rate,
        vacancy_rate=vacancy_rate,
        rent_growth=rent_growth,
        appreciation_rate=appreciation_rate,
        holding_years=holding_years,
        loan_to_value=loan_to_value,
        interest_rate=interest_rate,
        loan_term_years=loan_term_years,
        selling_cost_rate=selling_cost_rate,
    )


ROI_PDF_RESPONSE = success_media_types(200, {PDF_MEDIA_TYPE: Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)})


class RoiReportController(Controller):
    """ROI reports of the investment case of a lead (ArtinSmartRealty guide: `roi_report_url`) or a property."""

    path = "/v2"
    opt = resource_opt("roi")  # its scopes: roi:read, roi:write
    tags = ["Billing"]
    dependencies = {"overrides": Provide(provide_roi_overrides)}

    @get("/leads/{lead_id:int}/roi", operation_id="getLeadRoi", summary="A lead's investment case", guards=[guard(policy.ROI)])
    async def lead_roi(
        self, tenant: TenantScope, lead_id: Annotated[int, Parameter(description="Lead id")], overrides: roi_reports.RoiOverrides
    ) -> schemas.RoiReport:
        """Price (the lead's budget unless given), fees, rent, service charges, vacancy, appreciation and an optional
        mortgage → a yearly cash-flow table to the sale, gross and net yield, cash-on-cash, IRR over the holding period
        and the equity multiple. Any assumption can be changed in the query."""
        report, _ = await roi_reports.investment_case(tenant, "lead", lead_id, overrides)
        return report

    @get(
        "/leads/{lead_id:int}/roi-report.pdf",
        operation_id="getLeadRoiReportPdf",
        summary="A lead's ROI report as a PDF",
        guards=[guard(policy.ROI)],
        media_type=PDF_MEDIA_TYPE,
        operation_class=ROI_PDF_RESPONSE,
    )
    async def lead_roi_pdf(
        self, tenant: TenantScope, lead_id: Annotated[int, Parameter(description="Lead id")], overrides: roi_reports.RoiOverrides
    ) -> Response[bytes]:
        """The same case as a report to hand to the investor, with a cash-flow chart (the lead's `roi_report_url`)."""
        filename, content = await roi_reports.roi_pdf(tenant, "lead", lead_id, overrides)
        return download(content, filename, PDF_MEDIA_TYPE)

    @get(
        "/properties/{property_id:int}/roi",
        operation_id="getPropertyRoi",
        summary="A property's investment case",
        guards=[guard(policy.ROI)],
    )
    async def property_roi(
        self,
        tenant: TenantScope,
        property_id: Annotated[int, Parameter(description="Property id")],
        overrides: roi_reports.RoiOverrides,
    ) -> schemas.RoiReport:
        """The case of buying the property: its price (a rental: its estimated value), the rent it lets for (a rental:
        its own; else the average rent of its comparable rentals; else a 6 % gross yield — `rent_basis` says which),
        and the same assumptions as a lead's case, any of them changed in the query."""
        report, _ = await roi_reports.investment_case(tenant, "property", property_id, overrides)
        return report

    @get(
        "/properties/{property_id:int}/roi-report.pdf",
        operation_id="getPropertyRoiReportPdf",
        summary="A property's ROI report as a PDF",
        guards=[guard(policy.ROI)],
        media_type=PDF_MEDIA_TYPE,
        operation_class=ROI_PDF_RESPONSE,
    )
    async def property_roi_pdf(
        self,
        tenant: TenantScope,
        property_id: Annotated[int, Parameter(description="Property id")],
        overrides: roi_reports.RoiOverrides,
    ) -> Response[bytes]:
        """The property's case as a report to hand to an investor, with a cash-flow chart."""
        filename, content = await roi_reports.roi_pdf(tenant, "property", property_id, overrides)
        return download(content, filename, PDF_MEDIA_TYPE)
