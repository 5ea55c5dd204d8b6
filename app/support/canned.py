"""Canned replies: the tenant's shared reply snippets, with placeholders filled in for a ticket by a Jinja2 sandbox.

A body may name only the documented placeholders (`PLACEHOLDERS`); anything else, a broken one, or one the sandbox
refuses is refused when the reply is saved, so inserting it into a ticket's answer cannot fail later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from msgspec import UNSET

from app.core.errors import ResourceNotFound, ValidationFailed
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
_SAMPLE = {"customer_name": "Noor Saleh", "customer_email": "noor@example.com", "ticket_id": 1, "ticket_title": "A", "agent_name": "Sam"}
MAX_RENDERED = 40_000
# Autoescape off: the result is plain text in a textarea (escaped there by the page), never HTML.
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
# A body is text and placeholders, optionally through a few text filters: no loop, condition, call or attribute, so
# filling one in is cheap and cannot reach anything (the sandbox stays as the second line).
_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Filter)
FILTERS = frozenset({"upper", "lower", "title", "capitalize", "trim", "default"})
_COLUMNS = "id, title, body, category, created_by, created_at, updated_at"


def _refuse(message: str, provided: str, human: str) -> ValidationFailed:
    return ValidationFailed(
        f"Invalid body: {message}",
        details={
            "field": "body",
            "provided": provided[:200],
            "expected": "text with placeholders among: " + ", ".join("{{ " + p + " }}" for p in PLACEHOLDERS),
            "reason": "placeholder",
        },
        human=human,
    )


def check_body(body: str) -> None:
    """Refuse a body whose placeholders are broken, unknown or refused by the sandbox (422, `reason: placeholder`)."""
    try:
        parsed = _ENV.parse(body)
    except TemplateError as exc:
        raise _refuse(
            f"a placeholder is broken ({exc})", body, f"A placeholder is broken: {exc}. Write them like {{{{ customer_name }}}}."
        ) from None
    for node in parsed.find_all(nodes.Node):
        if not isinstance(node, _NODES) or (isinstance(node, nodes.Filter) and node.name not in FILTERS):
            what = f"the filter {node.name}" if isinstance(node, nodes.Filter) else f"a {type(node).__name__.lower()}"
            raise _refuse(f"{what} is not allowed", body, f"Only placeholders like {{{{ customer_name }}}} are allowed here, not {what}.")
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(PLACEHOLDERS))
    if unknown:
        names = ", ".join(unknown)
        raise _refuse(
            f"unknown placeholder {names}",
            body,
            f"Unknown placeholder: {names}. Use " + ", ".join("{{ " + p + " }}" for p in PLACEHOLDERS) + ".",
        )
    try:
        fill(body, _SAMPLE)
    except (TemplateError, ValueError) as exc:
        raise _refuse(f"the placeholders cannot be filled in ({exc})", body, f"The placeholders cannot be filled in: {exc}.") from None


def fill(body: str, values: dict[str, Any]) -> str:
    """The body with its placeholders filled in (in the sandbox: no attribute of Python objects, no file, no import)."""
    text = _ENV.from_string(body).render(**values)
    if len(text) > MAX_RENDERED:
        raise ValueError(f"the filled-in reply is longer than {MAX_RENDERED:,} characters")
    return text


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
    check_body(data.body)
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
        check_body(values["body"])
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
    try:
        body = fill(reply.body, values)
    except (TemplateError, ValueError) as exc:  # saved before a rule tightened: say so rather than insert half of it
        raise _refuse(str(exc), reply.body, f"This canned reply cannot be filled in: {exc}. Edit it under Canned replies.") from None
    return schemas.CannedReplyRendered(id=reply.id, ticket_id=ticket.id, body=body)
