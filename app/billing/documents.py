"""The invoice as a PDF: what the print template is given (the workspace as seller, the invoice as billed) and its file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.billing import pdf, policy, schemas
from app.billing.service import read_invoice, read_settings
from app.db import TenantScope, fetch, tenant_transaction

TEMPLATE = "pdf/invoice.html"
STATUS_LABELS = {
    "draft": "DRAFT",
    "sent": "AWAITING PAYMENT",
    "partially_paid": "PARTIALLY PAID",
    "paid": "PAID",
    "overdue": "OVERDUE",
    "void": "VOID",
}


@dataclass(frozen=True, slots=True)
class Seller:
    """The workspace as its invoices name it."""

    name: str
    address: str
    tax_id: str
    email: str
    phone: str


@dataclass(frozen=True, slots=True)
class Document:
    """A rendered PDF and its file name."""

    filename: str
    content: bytes
    invoice: schemas.Invoice


def _filename(number: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in number)
    return f"{safe or 'invoice'}.pdf"


async def invoice_context(scope: TenantScope, invoice_id: int) -> dict[str, Any]:
    """What the invoice's print template is given (404 for another tenant's id)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        invoice = await read_invoice(scope, invoice_id)
        settings = await read_settings(scope)
        rows = await fetch(
            """SELECT t.name, b.logo, coalesce(b.logo_type, '') AS logo_type FROM tenant t
                 LEFT JOIN billing_settings b ON b.tenant_id = t.id WHERE t.id = $1""",
            scope.tenant_id,
        )
        original = None
        if invoice.credit_note_for is not None:
            found = await fetch(
                "SELECT invoice_number FROM invoice WHERE tenant_id = $1 AND id = $2", scope.tenant_id, invoice.credit_note_for
            )
            original = found[0]["invoice_number"] if found else None
    workspace = rows[0]
    seller = Seller(settings.legal_name or workspace["name"], settings.address, settings.tax_id, settings.email, settings.phone)
    status = "overdue" if invoice.is_overdue else invoice.status
    return {
        "invoice": invoice,
        "seller": seller,
        "logo": pdf.image_data_url(workspace["logo"], workspace["logo_type"]),
        "title": "Credit note" if invoice.kind == "credit_note" else "Invoice",
        "status_class": status,
        "status_label": "ISSUED" if invoice.kind == "credit_note" and status != "void" else STATUS_LABELS[status],
        "original_number": original,
        "has_discounts": any(line.discount_rate for line in invoice.lines),
    }


async def invoice_pdf(scope: TenantScope, invoice_id: int) -> Document:
    """The invoice (or credit note) as a PDF, rendered off the event loop (404 for another tenant's id)."""
    context = await invoice_context(scope, invoice_id)
    invoice: schemas.Invoice = context["invoice"]
    content = await pdf.render_pdf(TEMPLATE, context)
    return Document(_filename(invoice.invoice_number), content, invoice)
