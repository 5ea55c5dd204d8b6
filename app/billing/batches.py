"""Send every draft invoice of a month at once, in the background: one job per invoice renders its PDF (e-mailed when the
server can send mail) and marks it sent, so the work spreads over every worker; app.jobs.progress counts them for the
progress bar. A job that fails (a render that ran too long, a mail server that refused) is retried by SAQ; an invoice
whose job gave up stays a draft, and a failed job can be replayed from Settings → Failed jobs."""

from __future__ import annotations

from datetime import date

from saq import Queue
from saq.types import Context

from app.billing import policy, schemas, service
from app.billing.documents import invoice_pdf
from app.core.errors import ResourceNotFound, ValidationFailed
from app.core.jobs import job
from app.db import TenantScope, fetch, tenant_transaction
from app.events import mail
from app.events.service import Subject, emit
from app.jobs import progress

KIND = "invoice_batch"


def _month(raw: str) -> date:
    """The first day of a `YYYY-MM` month (the schema's pattern holds); a month outside 1900-2999 is a 422."""
    year, month = int(raw[:4]), int(raw[5:7])
    if not service.EARLIEST.year <= year <= service.LATEST.year:
        raise ValidationFailed(
            "Invalid month: from 1900-01 to 2999-12",
            # `reason`: the schema's pattern cannot bound the year.
            details={"field": "month", "provided": raw, "expected": "a month from 1900-01 to 2999-12", "reason": "range"},
            human="Choose a month between 1900 and 2999",
        )
    return date(year, month, 1)


async def start_batch(scope: TenantScope, data: schemas.BatchCreate, queue: Queue) -> schemas.Batch:
    """Queue the sending of every draft (with lines) issued in the month; 409 when there is none."""
    policy.MANAGE.require(scope)
    first = _month(data.month)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    async with tenant_transaction(scope.tenant_id):
        drafts = await fetch(
            """SELECT i.id FROM invoice i WHERE i.tenant_id = $1 AND i.status = 'draft' AND i.issue_date >= $2 AND i.issue_date < $3
                 AND EXISTS (SELECT 1 FROM invoice_line l WHERE l.invoice_id = i.id) ORDER BY i.invoice_number""",
            scope.tenant_id,
            first,
            following,
        )
        if not drafts:
            raise ValidationFailed(
                f"No draft invoice with lines was issued in {data.month}",
                # `reason`: the month is well formed; whether it has drafts is a fact of the data.
                details={
                    "field": "month",
                    "provided": data.month,
                    "expected": "a month with draft invoices",
                    "reason": "unknown_reference",
                },
                human=f"There is no draft invoice issued in {first:%B %Y} to send.",
            )
        ids = [r["id"] for r in drafts]
        rows = await fetch(
            "INSERT INTO invoice_batch (tenant_id, month, invoice_ids, created_by, created_at) VALUES ($1, $2, $3, $4, now()) RETURNING id",
            scope.tenant_id,
            first,
            ids,
            scope.user_id,
        )
        batch_id = int(rows[0]["id"])
        await emit(scope, Subject("invoice_batch", batch_id), "invoice_batch.started", audit={"month": data.month, "invoices": len(ids)})
    await progress.track(scope.tenant_id, KIND, batch_id, total=len(ids))
    for invoice_id in ids:
        await send_batch_invoice.enqueue(queue, tenant_id=scope.tenant_id, batch_id=batch_id, invoice_id=invoice_id, user_id=scope.user_id)
    return await get_batch(scope, batch_id)


async def get_batch(scope: TenantScope, batch_id: int) -> schemas.Batch:
    """How far a batch has got."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            """SELECT b.id, to_char(b.month, 'YYYY-MM') AS month, coalesce(p.status, 'queued') AS status,
                      coalesce(p.total, cardinality(b.invoice_ids)) AS total, coalesce(p.processed, 0) AS processed,
                      coalesce(p.error, '') AS error, b.created_at
                 FROM invoice_batch b LEFT JOIN job_progress p ON p.kind = $3 AND p.subject_id = b.id
                WHERE b.tenant_id = $1 AND b.id = $2""",
            scope.tenant_id,
            batch_id,
            KIND,
        )
    if not rows:
        raise ResourceNotFound("Batch not found", details={"batch_id": batch_id})
    return schemas.Batch(**rows[0])


@job(key="batch-invoice:{batch_id}:{invoice_id}", timeout=180, retries=3, retry_delay=10)
async def send_batch_invoice(ctx: Context, *, tenant_id: int, batch_id: int, invoice_id: int, user_id: int | None) -> str:
    """Render one invoice of a batch and e-mail it when the server can (to its customer's address), then mark it sent and
    count it. An invoice no longer a draft (sent by hand meanwhile, or by an earlier attempt) is only counted."""
    scope = TenantScope.system(tenant_id, "system:invoice-batch", on_behalf_of=user_id)
    await progress.running(tenant_id, KIND, batch_id)
    invoice = await service.get_invoice(scope, invoice_id)
    outcome = "already sent"
    if invoice.status == "draft":
        document = await invoice_pdf(scope, invoice_id)  # e-mailed before it is marked sent: a retry mails again, never loses it
        if invoice.customer_email:
            seller = await service.seller_name(scope)
            text = f"Please find attached invoice {invoice.invoice_number} for {invoice.currency} {invoice.total_amount:,.2f}.\n\n{seller}"
            subject = f"Invoice {invoice.invoice_number} from {seller}"
            await mail.deliver(invoice.customer_email, subject, text, [(document.filename, document.content, "application/pdf")])
        await service.send_invoice(scope, invoice_id, schemas.InvoiceSend(), None)
        outcome = "sent"
    async with tenant_transaction(tenant_id):
        counted = await fetch(
            "UPDATE job_progress SET processed = processed + 1 WHERE kind = $1 AND subject_id = $2 RETURNING processed, total",
            KIND,
            batch_id,
        )
    if counted and counted[0]["processed"] >= counted[0]["total"]:
        await progress.finish(tenant_id, KIND, batch_id)
    else:
        await progress.advance(tenant_id, KIND, batch_id, by=0)  # tells the live progress bar
    return outcome
