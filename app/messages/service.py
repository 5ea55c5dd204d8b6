"""Message templates, generate-and-send, communications and opt-outs. Every function takes the caller's `TenantScope`.

A memo is rendered when it is asked for (so the answer carries its subject and body), kept as a `communication` row
whose `idempotency_key` (`memo_{property_id}_{template_id}_{date}`, unique per tenant) makes the same memo asked twice
in a day the same row, and sent by a SAQ job keyed by that row (`send_communication`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
from saq import Queue

from app.core.errors import Conflict, RateLimited, ResourceNotFound, ValidationFailed, unknown_reference
from app.core.jobs import job
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.db import TenantScope, bounded_total, fetch, tenant_transaction
from app.events.service import Subject, emit
from app.messages import delivery, policy, render, schemas
from app.settings import current

log = logging.getLogger(__name__)

DEFAULT_TEMPLATES = [
    (
        "Initial Outreach",
        "email",
        "Quick question about {{address}}",
        "Hi {{owner_name}},\n\nI noticed your property at {{address}} and wondered whether you would consider an offer."
        "\n\nBest regards,\n{{agent_name}}",
        "outreach",
    ),
    (
        "Follow-up",
        "email",
        "Following up on {{address}}",
        "Hi {{owner_name}},\n\nJust following up on my note about {{address}}. Happy to talk whenever suits you.\n\n{{agent_name}}",
        "outreach",
    ),
    (
        "Text check-in",
        "sms",
        "",
        "Hi {{owner_name}}, {{agent_name}} here about {{address}}. Would you consider an offer? Reply STOP to opt out.",
        "outreach",
    ),
]

_TEMPLATE = """
SELECT t.id, t.name, t.type, t.subject_template, t.body_template, t.stage, t.is_active, t.created_at, t.updated_at,
       coalesce(p.sent, 0) AS total_sent, coalesce(p.opened, 0) AS total_opened, coalesce(p.replied, 0) AS total_replied
  FROM message_template t
  LEFT JOIN (SELECT template_id, count(sent_at) AS sent, count(opened_at) AS opened, count(replied_at) AS replied
               FROM communication WHERE tenant_id = $1 AND template_id IS NOT NULL GROUP BY template_id) p ON p.template_id = t.id
 WHERE t.tenant_id = $1
"""


def _template(row: dict[str, Any]) -> schemas.Template:
    sent, opened, replied = int(row["total_sent"]), int(row["total_opened"]), int(row["total_replied"])
    performance = schemas.Performance(
        total_sent=sent,
        total_opened=opened,
        total_replied=replied,
        open_rate=round(opened / sent, 3) if sent else 0.0,
        reply_rate=round(replied / sent, 3) if sent else 0.0,
    )
    fields = {
        k: row[k] for k in ("id", "name", "type", "subject_template", "body_template", "stage", "is_active", "created_at", "updated_at")
    }
    return schemas.Template(**fields, performance=performance)


async def set_up_tenant(scope: TenantScope) -> None:
    """Give a new tenant the default templates (inside its transaction; nothing when it has templates)."""
    if await fetch("SELECT 1 FROM message_template WHERE tenant_id = $1 LIMIT 1", scope.tenant_id):
        return
    await fetch(
        """INSERT INTO message_template (tenant_id, name, type, subject_template, body_template, stage, is_active, created_at, updated_at)
           SELECT $1, d.name, d.type, d.subject, d.body, d.stage, true, now(), now()
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                  WITH ORDINALITY AS d(name, type, subject, body, stage, n)
            ORDER BY d.n""",
        scope.tenant_id,
        *[list(column) for column in zip(*DEFAULT_TEMPLATES, strict=True)],
    )


async def list_templates(scope: TenantScope, channel: str | None = None) -> list[schemas.Template]:
    """The tenant's templates with their performance (one aggregate over the communications), by name."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(_TEMPLATE + " AND ($2::text IS NULL OR t.type = $2) ORDER BY t.id", scope.tenant_id, channel)
    return [_template(row) for row in rows]


async def _read_template(scope: TenantScope, template_id: int) -> schemas.Template | None:
    rows = await fetch(_TEMPLATE + " AND t.id = $2", scope.tenant_id, template_id)
    return _template(rows[0]) if rows else None


async def get_template(scope: TenantScope, template_id: int) -> schemas.Template:
    """One template (404 when it is not the tenant's)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        found = await _read_template(scope, template_id)
    if found is None:
        raise ResourceNotFound("Template not found", details={"template_id": template_id})
    return found


def _check_texts(channel: str, subject: str, body: str) -> None:
    render.TEXT.check("subject_template", subject)
    render.TEXT.check("body_template", body)
    if channel == "email" and not subject.strip():
        raise ValidationFailed(
            "Invalid subject_template: an e-mail template needs a subject",
            details={
                "field": "subject_template",
                "provided": subject,
                "expected": "a subject (with placeholders if you like)",
                "reason": "missing_subject",
            },
            human="An e-mail template needs a subject.",
        )


async def create_template(scope: TenantScope, data: schemas.TemplateCreate) -> schemas.Template:
    """Add a template after checking its placeholders (422 `reason: bad_placeholder`). Audited."""
    policy.MANAGE_TEMPLATES.require(scope)
    _check_texts(data.type, data.subject_template, data.body_template)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            """INSERT INTO message_template (tenant_id, name, type, subject_template, body_template, stage, is_active, created_by,
                                             created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now()) RETURNING id""",
            scope.tenant_id,
            data.name.strip(),
            data.type,
            data.subject_template,
            data.body_template,
            data.stage,
            data.is_active,
            scope.user_id,
        )
        template_id = int(rows[0]["id"])
        await emit(scope, Subject("message_template", template_id), "message_template.created", audit={"name": data.name})
        created = await _read_template(scope, template_id)
    assert created is not None
    return created


async def update_template(scope: TenantScope, template_id: int, data: schemas.TemplateUpdate) -> schemas.Template:
    """Change a template; its texts are checked again as they will be. Audited."""
    policy.MANAGE_TEMPLATES.require(scope)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    async with tenant_transaction(scope.tenant_id):
        before = await _read_template(scope, template_id)
        if before is None:
            raise ResourceNotFound("Template not found", details={"template_id": template_id})
        if not changes:
            return before
        after = {**msgspec.structs.asdict(before), **changes}
        _check_texts(after["type"], after["subject_template"], after["body_template"])
        await fetch(
            """UPDATE message_template SET name = $3, type = $4, subject_template = $5, body_template = $6, stage = $7, is_active = $8,
                                          updated_at = now() WHERE tenant_id = $1 AND id = $2""",
            scope.tenant_id,
            template_id,
            after["name"].strip(),
            after["type"],
            after["subject_template"],
            after["body_template"],
            after["stage"],
            after["is_active"],
        )
        await emit(scope, Subject("message_template", template_id), "message_template.updated", audit={"fields": sorted(changes)})
        updated = await _read_template(scope, template_id)
    assert updated is not None
    return updated


async def delete_template(scope: TenantScope, template_id: int) -> None:
    """Remove a template; the communications sent from it stay (without it). Audited."""
    policy.MANAGE_TEMPLATES.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch("DELETE FROM message_template WHERE tenant_id = $1 AND id = $2 RETURNING name", scope.tenant_id, template_id)
        if not rows:
            raise ResourceNotFound("Template not found", details={"template_id": template_id})
        await emit(scope, Subject("message_template", template_id), "message_template.deleted", audit={"name": rows[0]["name"]})


# Recipients.
@dataclass(frozen=True, slots=True)
class Recipient:
    """Whom a memo goes to, and the values its placeholders are filled with."""

    subject: Subject
    record: dict[str, Any]  # for the send permission's record rule
    name: str
    email: str | None
    phone: str | None
    values: dict[str, str]


def _money(value: Decimal | None) -> str:
    return f"{value:,.0f}" if value is not None else ""


async def recipient_of(scope: TenantScope, property_id: int | None, lead_id: int | None) -> Recipient:
    """The property's owner or the lead, with the placeholders' values (call inside the tenant transaction)."""
    people = await fetch(
        """SELECT coalesce(nullif(u.full_name, ''), u.email) AS agent_name, u.email AS agent_email, t.name AS company_name
             FROM tenant t LEFT JOIN app_user u ON u.tenant_id = t.id AND u.id = $2 WHERE t.id = $1""",
        scope.tenant_id,
        scope.user_id,
    )
    common = {
        "agent_name": (people[0]["agent_name"] or "") if people else "",
        "agent_email": (people[0]["agent_email"] or "") if people else "",
        "company_name": people[0]["company_name"] if people else "",
        "today": f"{datetime.now(UTC):%-d %B %Y}",
    }
    if property_id is not None:
        rows = await fetch(
            """SELECT id, address, city, state, zip_code, owner_name, owner_email, owner_phone, estimated_value, assigned_user_id
                 FROM property WHERE tenant_id = $1 AND id = $2""",
            scope.tenant_id,
            property_id,
        )
        if not rows:
            raise unknown_reference("property_id", property_id, "property")
        p = rows[0]
        owner = p["owner_name"] or ""
        values = {
            **common,
            "address": p["address"],
            "city": p["city"],
            "state": p["state"],
            "zip_code": p["zip_code"],
            "estimated_value": _money(p["estimated_value"]),
            "owner_name": owner,
            "first_name": owner.split(" ")[0] if owner else "",
        }
        return Recipient(Subject("property", p["id"]), p, owner, p["owner_email"], p["owner_phone"], values)
    rows = await fetch(
        "SELECT id, name, email, phone, agent_id, contact_id, preferred_locations FROM lead WHERE tenant_id = $1 AND id = $2",
        scope.tenant_id,
        lead_id,
    )
    if not rows:
        raise unknown_reference("lead_id", lead_id, "lead")
    lead = rows[0]
    values = {
        **common,
        "address": (lead["preferred_locations"] or [""])[0],
        "owner_name": lead["name"],
        "first_name": lead["name"].split(" ")[0],
        "lead_name": lead["name"],
        "lead_email": lead["email"] or "",
        "lead_phone": lead["phone"] or "",
    }
    return Recipient(Subject("lead", lead["id"], contact_id=lead["contact_id"]), lead, lead["name"], lead["email"], lead["phone"], values)


async def preview(scope: TenantScope, data: schemas.PreviewRequest) -> schemas.Preview:
    """A template's texts rendered with sample values (or a property's or lead's); a bad placeholder is a 422."""
    policy.VIEW.require(scope)
    render.TEXT.check("subject_template", data.subject_template)
    render.TEXT.check("body_template", data.body_template)
    values = render.TEXT.sample
    if data.property_id is not None or data.lead_id is not None:
        async with tenant_transaction(scope.tenant_id):
            values = (await recipient_of(scope, data.property_id, data.lead_id)).values
    return schemas.Preview(subject=render.TEXT.render(data.subject_template, values), body=render.TEXT.render(data.body_template, values))


# Generate and send.
_COMMUNICATION = """id, template_id, property_id, lead_id, channel, recipient, recipient_name, subject, body, status, transport, error,
sent_at, delivered_at, opened_at, clicked_at, replied_at, reply_text, created_at"""


def _memo_result(row: dict[str, Any]) -> schemas.MemoResult:
    return schemas.MemoResult(
        communication_id=row["id"],
        property_id=row["property_id"],
        lead_id=row["lead_id"],
        template_id=row["template_id"],
        subject=row["subject"],
        body=row["body"],
        delivery_method=row["channel"],
        recipient=row["recipient"],
        status=row["status"],
        sent_at=row["sent_at"],
        task_id=row["task_id"],
        error=row["error"],
    )


def memo_key(data: schemas.GenerateAndSend, today: str) -> str:
    """The guide's automatic key: `memo_{property_id}_{template_id}_{date}` (`memo_lead_…` for a lead)."""
    if data.property_id is not None:
        return f"memo_{data.property_id}_{data.template_id}_{today}"
    return f"memo_lead_{data.lead_id}_{data.template_id}_{today}"


async def _check_rate(scope: TenantScope) -> None:
    limit = current().messages_per_minute
    if not limit:
        return
    rows = await fetch(
        "SELECT count(*) AS n FROM communication WHERE tenant_id = $1 AND created_at > now() - interval '1 minute'", scope.tenant_id
    )
    if int(rows[0]["n"]) >= limit:
        raise RateLimited(
            f"Your workspace may send {limit} messages a minute; try again shortly",
            retry_after=60,
            details={"limit": limit, "window": "1 minute"},
        )


async def _opted_out(scope: TenantScope, channel: str, address: str) -> bool:
    rows = await fetch(
        "SELECT 1 FROM message_opt_out WHERE tenant_id = $1 AND channel = $2 AND lower(address) = lower($3)",
        scope.tenant_id,
        channel,
        address,
    )
    return bool(rows)


async def generate_and_send(scope: TenantScope, data: schemas.GenerateAndSend, queue: Queue | None) -> schemas.MemoResult:
    """Render the template for the property's owner or the lead and queue it for sending (a SAQ job); the same memo
    asked again the same day (UTC) answers the communication made the first time, and nothing is sent twice.

    The answer's `status` is `queued` (the job sends it: `sent` soon after), `draft` when `send_immediately` is false,
    `failed` when there is no address for the channel, `opted_out` when the recipient opted out."""
    key = memo_key(data, datetime.now(UTC).date().isoformat())
    async with tenant_transaction(scope.tenant_id):
        row, new = await compose(
            scope,
            template_id=data.template_id,
            property_id=data.property_id,
            lead_id=data.lead_id,
            channel=data.delivery_method,
            key=key,
            send_now=data.send_immediately,
        )
    if new and row["status"] == "queued" and queue is not None:
        await send_communication.enqueue(queue, tenant_id=scope.tenant_id, communication_id=row["id"])
    return _memo_result(row)


async def compose(
    scope: TenantScope,
    *,
    template_id: int,
    property_id: int | None,
    lead_id: int | None,
    channel: str | None,
    key: str,
    send_now: bool,
    sequence_id: int | None = None,
) -> tuple[dict[str, Any], bool]:
    """Render a template for a recipient and keep it as a communication under `key` (inside the caller's tenant
    transaction): (the row, whether it is new). The row made earlier under the same key is answered as it is. The
    caller queues `send_communication` for a new `queued` row once its transaction commits."""
    existing = await fetch(
        f"SELECT {_COMMUNICATION}, task_id FROM communication WHERE tenant_id = $1 AND idempotency_key = $2", scope.tenant_id, key
    )
    if existing:
        return existing[0], False
    templates = await fetch(
        "SELECT id, type, subject_template, body_template, is_active FROM message_template WHERE tenant_id = $1 AND id = $2",
        scope.tenant_id,
        template_id,
    )
    if not templates:
        raise unknown_reference("template_id", template_id, "template")
    template = templates[0]
    recipient = await recipient_of(scope, property_id, lead_id)
    policy.SEND.require(scope, recipient.record)
    channel = channel or template["type"]
    if not template["is_active"]:
        raise Conflict(
            "The template is inactive",
            details={"template_id": template_id, "reason": "inactive_template"},
            human="This template is switched off.",
        )
    await _check_rate(scope)
    address = recipient.email if channel == "email" else recipient.phone
    subject = render.TEXT.render(template["subject_template"], recipient.values) if channel == "email" else ""
    body = render.TEXT.render(template["body_template"], recipient.values)
    status, error = ("queued" if send_now else "draft"), ""
    if not address:
        status, error = (
            "failed",
            ("No e-mail address" if channel == "email" else "No phone number") + f" for {recipient.name or 'the recipient'}",
        )
    elif await _opted_out(scope, channel, address):
        status, error = "opted_out", f"{address} opted out of {'e-mails' if channel == 'email' else 'text messages'}"
    rows = await fetch(
        f"""INSERT INTO communication (tenant_id, template_id, property_id, lead_id, channel, recipient, recipient_name, subject, body,
                                      status, error, idempotency_key, sequence_id, created_by, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now(), now())
            ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING {_COMMUNICATION}, task_id""",
        scope.tenant_id,
        template_id,
        property_id,
        lead_id,
        channel,
        address or "",
        recipient.name[:200],
        subject[:2000],
        body,
        status,
        error,
        key,
        sequence_id,
        scope.user_id,
    )
    if not rows:  # the same key at the same moment: the other request made it
        rows = await fetch(
            f"SELECT {_COMMUNICATION}, task_id FROM communication WHERE tenant_id = $1 AND idempotency_key = $2", scope.tenant_id, key
        )
        return rows[0], False
    communication = rows[0]
    if status == "queued":
        task_id = send_communication.key_for(tenant_id=scope.tenant_id, communication_id=communication["id"])
        await fetch("UPDATE communication SET task_id = $3 WHERE tenant_id = $1 AND id = $2", scope.tenant_id, communication["id"], task_id)
        communication["task_id"] = task_id
    if property_id is not None and status in ("queued", "draft"):
        await fetch(
            "UPDATE property SET has_memo = true, updated_at = now() WHERE tenant_id = $1 AND id = $2", scope.tenant_id, property_id
        )
    what = "E-mail" if channel == "email" else "Text message"
    summary = {
        "queued": f"{what} “{subject or body[:60]}” queued for {address}",
        "draft": f"{what} “{subject or body[:60]}” drafted",
        "failed": f"{what} not sent: {error}",
        "opted_out": f"{what} not sent: {error}",
    }[status]
    await emit(scope, recipient.subject, "memo_generated", summary, {"communication_id": (None, communication["id"])})
    return communication, True


@job(key="send-communication:{tenant_id}:{communication_id}", timeout=60, retries=4, retry_delay=30.0)
async def send_communication(ctx: Any, *, tenant_id: int, communication_id: int) -> str:
    """Send one queued communication (by SMTP, the SMS provider, or into the local outbox), then mark it sent, put it on
    its lead's or property's timeline, set the property's `last_contact_at`, and publish `memo_generated`. Keyed by the
    row: a communication that is no longer queued is left alone, so asking twice sends once."""
    scope = TenantScope.system(tenant_id, "system:messages")
    async with tenant_transaction(tenant_id):
        rows = await fetch("SELECT * FROM communication WHERE tenant_id = $1 AND id = $2", tenant_id, communication_id)
        if not rows or rows[0]["status"] != "queued":
            return "not queued"
        row = rows[0]
        if await _opted_out(scope, row["channel"], row["recipient"]):
            await fetch(
                "UPDATE communication SET status = 'opted_out', error = 'The recipient opted out', updated_at = now() WHERE id = $1",
                communication_id,
            )
            return "opted out"
    outgoing = delivery.Outgoing(communication_id, tenant_id, row["channel"], row["recipient"], row["subject"], row["body"])
    try:
        sent = await delivery.send(outgoing)
    except delivery.DeliveryFailed as exc:
        async with tenant_transaction(tenant_id):
            await fetch(
                "UPDATE communication SET status = 'failed', error = $2, updated_at = now() WHERE id = $1", communication_id, str(exc)[:500]
            )
        return "failed"
    async with tenant_transaction(tenant_id):
        updated = await fetch(
            """UPDATE communication SET status = 'sent', sent_at = now(), transport = $2, provider_message_id = $3, body = $4,
                                        updated_at = now()
                WHERE tenant_id = $1 AND id = $5 AND status = 'queued' RETURNING sent_at""",
            tenant_id,
            sent.transport,
            sent.provider_message_id,
            sent.body,
            communication_id,
        )
        if not updated:
            return "not queued"
        # A sequence's touchpoint is the sequence's doing (the customer journey names it), a memo the sender's.
        scope = TenantScope.system(tenant_id, "system:nurture" if row["sequence_id"] else "system:messages", on_behalf_of=row["created_by"])
        subject = await _subject_of(scope, row)
        if row["property_id"] is not None:
            await fetch(
                "UPDATE property SET has_memo = true, last_contact_at = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                row["property_id"],
                updated[0]["sent_at"],
            )
        if row["lead_id"] is not None:
            await fetch(
                "UPDATE lead SET last_interaction = $3 WHERE tenant_id = $1 AND id = $2", tenant_id, row["lead_id"], updated[0]["sent_at"]
            )
        via = {"smtp": "by e-mail", "sms_api": "by SMS", "outbox": "into the local outbox"}[sent.transport]
        what = "E-mail" if row["channel"] == "email" else "Text message"
        await emit(
            scope,
            subject,
            "memo_sent",
            f"{what} sent to {row['recipient']} {via}",
            events=[
                (
                    "memo_generated",
                    {
                        "communication_id": communication_id,
                        "property_id": row["property_id"],
                        "lead_id": row["lead_id"],
                        "team_id": tenant_id,
                        "status": "sent",
                        "delivery_method": row["channel"],
                    },
                )
            ],
        )
    return "sent"


async def _subject_of(scope: TenantScope, row: dict[str, Any]) -> Subject:
    if row["property_id"] is not None:
        return Subject("property", row["property_id"])
    if row["lead_id"] is not None:
        leads = await fetch("SELECT contact_id FROM lead WHERE tenant_id = $1 AND id = $2", scope.tenant_id, row["lead_id"])
        return Subject("lead", row["lead_id"], contact_id=leads[0]["contact_id"] if leads else None)
    return Subject("communication", row["id"])


async def send_draft(scope: TenantScope, communication_id: int, queue: Queue | None) -> schemas.Communication:
    """Send a draft made with `send_immediately: false`."""
    async with tenant_transaction(scope.tenant_id):
        row = await _read_communication(scope, communication_id, lock=True)
        policy.SEND.require(scope, await _record_of(scope, row))
        if row.status != "draft":
            raise Conflict(
                f"The communication is {row.status}, not a draft",
                details={"communication_id": communication_id, "status": row.status, "reason": "not_draft"},
                human="Only a draft can be sent.",
            )
        task_id = send_communication.key_for(tenant_id=scope.tenant_id, communication_id=communication_id)
        await fetch(
            "UPDATE communication SET status = 'queued', task_id = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
            scope.tenant_id,
            communication_id,
            task_id,
        )
        row = await _read_communication(scope, communication_id)
    if queue is not None:
        await send_communication.enqueue(queue, tenant_id=scope.tenant_id, communication_id=communication_id)
    return row


async def _record_of(scope: TenantScope, row: schemas.Communication) -> dict[str, Any]:
    if row.property_id is not None:
        found = await fetch("SELECT assigned_user_id FROM property WHERE tenant_id = $1 AND id = $2", scope.tenant_id, row.property_id)
    elif row.lead_id is not None:
        found = await fetch("SELECT agent_id FROM lead WHERE tenant_id = $1 AND id = $2", scope.tenant_id, row.lead_id)
    else:
        found = []
    return found[0] if found else {}


# Communications.
@dataclass(frozen=True, slots=True)
class CommunicationFilters:
    """What the communications log is filtered by."""

    lead_id: int | None = None
    property_id: int | None = None
    template_id: int | None = None
    status: str | None = None
    channel: str | None = None
    transport: str | None = None


SORTS = {"created_at": "created_at", "sent_at": "sent_at", "status": "status"}


async def _read_communication(scope: TenantScope, communication_id: int, *, lock: bool = False) -> schemas.Communication:
    rows = await fetch(
        f"SELECT {_COMMUNICATION} FROM communication WHERE tenant_id = $1 AND id = $2" + (" FOR UPDATE" if lock else ""),
        scope.tenant_id,
        communication_id,
    )
    if not rows:
        raise ResourceNotFound("Communication not found", details={"communication_id": communication_id})
    return msgspec.convert(rows[0], schemas.Communication)


async def get_communication(scope: TenantScope, communication_id: int) -> schemas.Communication:
    """One communication (404 when it is not the tenant's)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _read_communication(scope, communication_id)


async def list_communications(scope: TenantScope, query: ListQuery, filters: CommunicationFilters) -> Page[schemas.Communication]:
    """The communications log, newest first, filtered."""
    policy.VIEW.require(scope)
    order = sort_order(query.sort, SORTS, "-created_at")
    where = ["tenant_id = $1"]
    args: list[Any] = [scope.tenant_id]
    for column in ("lead_id", "property_id", "template_id", "status", "channel", "transport"):
        value = getattr(filters, column)
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    condition = " AND ".join(where)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            f"SELECT {_COMMUNICATION} FROM communication WHERE {condition} ORDER BY {order.sql(nulls_last=order.field == 'sent_at')} "
            f"LIMIT {query.limit} OFFSET {query.offset}",
            *args,
        )
        total, estimate = await bounded_total("communication", condition, args, query.offset, query.limit, len(rows))
    return page_of(schemas.Communication, rows, query, total, estimate=estimate)
