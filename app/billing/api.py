"""JSON API: invoices, payments and credit notes (NeuraCRM guide §7.1), invoice PDFs, the billing settings."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import Body, Parameter
from saq import Queue

from app.billing import billing_settings, documents, policy, schemas, service
from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.schemas import RequestBody
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.web.auth import guard
from app.web.etag import IfMatch
from app.web.json import ApiResponse
from app.web.openapi import success_media_types

InvoiceId = Annotated[int, Parameter(ge=1, le=2**63 - 1, description="Invoice id")]
IdParam = Annotated[int | None, Parameter(ge=1, le=2**63 - 1)]
STATUS_LIST_PATTERN = "^ *(?:(?:" + "|".join(schemas.STATUSES) + r") *(?:, *(?:" + "|".join(schemas.STATUSES) + ") *)*)?$"
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
        operation_class=success_media_types(200, {PDF_MEDIA_TYPE: Schema(type=OpenAPIType.STRING, format="binary")}),  # type: ignore[arg-type]
    )
    async def invoice_pdf(self, tenant: TenantScope, invoice_id: InvoiceId) -> Response[bytes]:
        """The seller (name, logo, address from the billing settings), the customer as billed, the lines (their header
        repeated on every page), totals, tax summary, payment status and payments, terms, "Page x of y"."""
        document = await documents.invoice_pdf(tenant, invoice_id)
        headers = {"Content-Disposition": f'attachment; filename="{document.filename}"', "Cache-Control": "private, no-store"}
        return Response(document.content, media_type=PDF_MEDIA_TYPE, headers=headers)


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
