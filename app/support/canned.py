"""Canned replies: the tenant's shared reply snippets, with placeholders filled in for a ticket.

A body may name only the documented placeholders (`PLACEHOLDERS`); anything else, a broken one, or one the sandbox
refuses is refused when the reply is saved (422 `reason: bad_placeholder`), so inserting it cannot fail later.
"""

from __future__ import annotations

from datetime import UTC, datetime

from msgspec import UNSET

from app.core.errors import ResourceNotFound
from app.core.text_templates import TextTemplates
from app.db import TenantScope, fetch, fetch_as, tenant_transaction
from app.events.service import Subject, emit
from app.support import policy, schemas, service
from app.support.tables import CannedReply

# What a body may name, with what it stands for (shown on the management screen).
PLACEHOLDERS = {
    "customer_name": "the requester's name (else their e-mail)",
    "customer_email": "the requester's e-mail",
    "ticket_id": "the ticket's number",
    "ticket_title": "the ticket's title",
    "agent_name": "the name of whoever inserts it",
}
# Filled in by the one sandbox for such texts (app/core/text_templates): placeholders and a few text filters, no `if`.
TEXT = TextTemplates(
    PLACEHOLDERS,
    {"customer_name": "Noor Saleh", "customer_email": "noor@example.com", "ticket_id": "1", "ticket_title": "A", "agent_name": "Sam"},
    filters=frozenset({"upper", "lower", "title", "capitalize", "trim", "default"}),
    conditions=False,
    max_output=40_000,
)
_COLUMNS = "id, title, body, category, created_by, created_at, updated_at"


def _not_found(reply_id: int) -> ResourceNotFound:
    return ResourceNotFound("Canned reply not found", details={"canned_reply_id": reply_id})


async def _read(scope: TenantScope, reply_id: int) -> schemas.CannedReply:
    if not 0 < reply_id <= schemas.BIGINT_MAX:
        raise _not_found(reply_id)
    rows = await fetch_as(
        schemas.CannedReply, f"SELECT {_COLUMNS} FROM canned_reply WHERE tenant_id = $1 AND id = $2", scope.tenant_id, reply_id
    )
    if not rows:
        raise _not_found(reply_id)
    return rows[0]


async def list_replies(scope: TenantScope, category: str | None = None) -> list[schemas.CannedReply]:
    """The tenant's canned replies by title (at most 500; a category narrows them)."""
    policy.CANNED_USE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await fetch_as(
            schemas.CannedReply,
            f"""SELECT {_COLUMNS} FROM canned_reply WHERE tenant_id = $1 AND ($2::text IS NULL OR category = $2)
                 ORDER BY title, id LIMIT 500""",
            scope.tenant_id,
            category,
        )


async def get_reply(scope: TenantScope, reply_id: int) -> schemas.CannedReply:
    """One canned reply (404 for another tenant's id)."""
    policy.CANNED_USE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _read(scope, reply_id)


async def create_reply(scope: TenantScope, data: schemas.CannedReplyCreate) -> schemas.CannedReply:
    """Save a canned reply for the whole team (its placeholders checked). Audited."""
    policy.CANNED_MANAGE.require(scope)
    TEXT.check("body", data.body)
    now = datetime.now(UTC)
    async with tenant_transaction(scope.tenant_id):
        rows = await CannedReply.insert(
            CannedReply(
                tenant_id=scope.tenant_id,
                title=data.title.strip(),
                body=data.body,
                category=data.category.strip() if data.category else None,
                created_by=scope.user_id,
                created_at=now,
                updated_at=now,
            )
        ).returning(CannedReply.id)
        reply = await _read(scope, rows[0]["id"])
        await emit(scope, Subject("canned_reply", reply.id), "support.canned_reply_created", audit={"title": reply.title})
        return reply


async def update_reply(scope: TenantScope, reply_id: int, data: schemas.CannedReplyUpdate) -> schemas.CannedReply:
    """Change a canned reply (its placeholders checked again). Audited."""
    policy.CANNED_MANAGE.require(scope)
    values = {name: value for name in data.__struct_fields__ if (value := getattr(data, name)) is not UNSET}
    if "body" in values:
        TEXT.check("body", values["body"])
    if "title" in values:
        values["title"] = values["title"].strip()
    if values.get("category") is not None:
        values["category"] = values["category"].strip()
    async with tenant_transaction(scope.tenant_id):
        before = await _read(scope, reply_id)
        if values:
            await CannedReply.update({**values, "updated_at": datetime.now(UTC)}).where(  # type: ignore[arg-type,dict-item]
                (CannedReply.id == reply_id) & (CannedReply.tenant_id == scope.tenant_id)
            )
            await emit(
                scope,
                Subject("canned_reply", reply_id),
                "support.canned_reply_updated",
                audit={"title": before.title, "fields": sorted(values)},
            )
        return await _read(scope, reply_id)


async def delete_reply(scope: TenantScope, reply_id: int) -> None:
    """Remove a canned reply (replies already sent keep their text). Audited."""
    policy.CANNED_MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        reply = await _read(scope, reply_id)
        await CannedReply.delete().where((CannedReply.id == reply_id) & (CannedReply.tenant_id == scope.tenant_id))
        await emit(scope, Subject("canned_reply", reply_id), "support.canned_reply_deleted", audit={"title": reply.title})


async def render_for_ticket(scope: TenantScope, reply_id: int, ticket_id: int) -> schemas.CannedReplyRendered:
    """A canned reply filled in for a ticket the caller works (404 for a ticket they cannot see)."""
    policy.CANNED_USE.require(scope)
    ticket = await service.get_ticket(scope, ticket_id)
    policy.WORK.require(scope, ticket)
    async with tenant_transaction(scope.tenant_id):
        reply = await _read(scope, reply_id)
        agent = await fetch("SELECT full_name FROM app_user WHERE id = $1", scope.user_id) if scope.user_id else []
    values = {
        "customer_name": ticket.customer_name or ticket.customer_email or "there",
        "customer_email": ticket.customer_email or "",
        "ticket_id": ticket.id,
        "ticket_title": ticket.title,
        "agent_name": agent[0]["full_name"] if agent else "The support team",
    }
    TEXT.check("body", reply.body)  # saved before a rule tightened: say so (422) rather than insert half of it
    body = TEXT.render(reply.body, values)
    return schemas.CannedReplyRendered(id=reply.id, ticket_id=ticket.id, body=body)
