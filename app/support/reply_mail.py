"""E-mail to the requester when the team posts a public reply (never for an internal note or the customer's own
message): one SAQ job per comment, through `app.events.mail.deliver` (the one mail path), with the signed link to
the requester's page. The comment's `emailed_at` makes a retried or replayed job send nothing twice."""

from __future__ import annotations

from saq.types import Context

from app.core.jobs import job
from app.db import TenantScope, fetch, tenant_transaction
from app.events import mail
from app.events.service import Subject, emit
from app.support.service import customer_url


def reply_text(*, content: str, author: str, workspace: str, title: str, link: str) -> str:
    """The mail's body: the reply, who wrote it, and where to read the conversation and answer."""
    return (
        f"{content.strip()}\n\n"
        f"{author}\n{workspace} support\n\n"
        f"Read the whole conversation and reply on your request page:\n{link}\n\n"
        f"(About your request: {title})"
    )


@job(key="ticket-reply-mail:{comment_id}", timeout=60, retries=4, retry_delay=60)
async def email_public_reply(ctx: Context, *, tenant_id: int, comment_id: int) -> str:
    """Mail one public reply to its ticket's requester, once: `sent`, or why not (`already sent`, `no recipient`,
    `not a public reply`, `not configured`). A mail server's refusal fails the attempt and SAQ tries again."""
    scope = TenantScope.system(tenant_id, "system:reply-mail")
    async with tenant_transaction(tenant_id):
        rows = await fetch(
            """SELECT c.id, c.ticket_id, c.content, c.is_internal, c.author_type, c.author_name, c.emailed_at, t.title,
                      t.customer_email, t.contact_id, n.name AS workspace
                 FROM ticket_comment c JOIN ticket t ON t.id = c.ticket_id AND t.tenant_id = c.tenant_id
                 JOIN tenant n ON n.id = c.tenant_id
                WHERE c.tenant_id = $1 AND c.id = $2""",
            tenant_id,
            comment_id,
        )
    if not rows:
        return "gone"
    row = rows[0]
    if row["emailed_at"] is not None:
        return "already sent"
    if row["is_internal"] or row["author_type"] != "staff":
        return "not a public reply"
    if not row["customer_email"]:
        return "no recipient"
    text = reply_text(
        content=row["content"],
        author=row["author_name"] or "The support team",
        workspace=row["workspace"],
        title=row["title"],
        link=customer_url(tenant_id, row["ticket_id"]),
    )
    subject = f"Re: [#{row['ticket_id']}] {row['title']}"
    if not await mail.deliver(row["customer_email"], subject, text):
        return "not configured"
    async with tenant_transaction(tenant_id):
        marked = await fetch(
            "UPDATE ticket_comment SET emailed_at = now() WHERE tenant_id = $1 AND id = $2 AND emailed_at IS NULL RETURNING id",
            tenant_id,
            comment_id,
        )
        if marked:
            await emit(
                scope,
                Subject("ticket", row["ticket_id"], contact_id=row["contact_id"]),
                "reply_emailed",
                f"Reply e-mailed to {row['customer_email']}",
            )
    return "sent"
