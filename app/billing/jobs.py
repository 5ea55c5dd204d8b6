"""Billing's background work: e-mailing an invoice's PDF, and the hourly sweep that marks invoices overdue."""

from __future__ import annotations

from saq.types import Context

from app.billing import service
from app.billing.documents import invoice_pdf
from app.core.jobs import job
from app.db import TenantScope, fetch, system_transaction, tenant_transaction
from app.events import mail
from app.events.service import Subject, emit


@job(key="invoice-email:{invoice_id}:{sent_at}", timeout=180, retries=4, retry_delay=60)
async def email_invoice(ctx: Context, *, tenant_id: int, invoice_id: int, to: str, message: str, sent_at: str) -> str:
    """Render the invoice's PDF and e-mail it to `to`; a render that runs too long or a mail server that refuses fails the
    attempt and SAQ tries again (the invoice's timeline says when it went)."""
    scope = TenantScope.system(tenant_id, "system:invoice-email")
    document = await invoice_pdf(scope, invoice_id)
    invoice = document.invoice
    seller = await service.seller_name(scope)
    text = "\n\n".join(
        part
        for part in (
            message.strip(),
            f"Please find attached {'credit note' if invoice.kind == 'credit_note' else 'invoice'} {invoice.invoice_number} "
            f"for {invoice.currency} {invoice.total_amount:,.2f}"
            + (f", due on {invoice.due_date:%d %B %Y}." if invoice.kind == "invoice" else "."),
            f"Balance due: {invoice.currency} {invoice.balance_due:,.2f}" if invoice.kind == "invoice" else "",
            seller,
        )
        if part
    )
    subject = f"{'Credit note' if invoice.kind == 'credit_note' else 'Invoice'} {invoice.invoice_number} from {seller}"
    if not await mail.deliver(to, subject, text, [(document.filename, document.content, "application/pdf")]):
        return "not configured"
    async with tenant_transaction(tenant_id):
        await emit(
            scope, Subject("invoice", invoice_id, contact_id=invoice.contact_id), "emailed", f"{invoice.invoice_number} e-mailed to {to}"
        )
    return "sent"


@job(key="overdue-invoices", timeout=900, retries=1)
async def sweep_overdue_invoices(ctx: Context) -> int:
    """Hourly: every workspace's sent invoices past their due date become overdue (each workspace in its own time zone, so
    an invoice turns overdue soon after midnight there)."""
    async with system_transaction():
        # Loose on purpose (a day ahead covers every zone); each workspace's own transaction decides in its zone.
        tenants = await fetch(
            "SELECT DISTINCT tenant_id FROM invoice WHERE status IN ('sent', 'partially_paid') AND due_date < current_date + 1"
        )
    marked = 0
    for row in tenants:
        marked += await service.mark_overdue(row["tenant_id"])
    return marked
