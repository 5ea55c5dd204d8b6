"""Nurture sequences (EnterpriseHub: Lead Bot Management): a lead's touchpoints on days 3, 7 and 30 after the start,
each rendered from a template and sent as a communication by a SAQ job scheduled for its time and keyed by the sequence
and the touchpoint (so a touchpoint is sent once however often its job runs). A sequence stops by hand, when the lead
replies or opts out (the provider webhooks call `stop_for_lead`), and when the lead has converted (won, lost, or made
into a deal), which is checked before each touchpoint."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from saq import Queue

from app.core.errors import Conflict, ResourceNotFound, unknown_reference
from app.core.jobs import job
from app.db import TenantScope, fetch, system_transaction, tenant_transaction
from app.events.service import Subject, emit
from app.messages import policy, schemas, service
from app.settings import current

CADENCE_DAYS = (3, 7, 30)
_SEQUENCE = """id AS sequence_id, lead_id, sequence_type, channel, status, stop_reason, next_touchpoint_at AS next_touchpoint,
touchpoints_sent, touchpoints_total - touchpoints_sent AS touchpoints_remaining, started_at, stopped_at"""


def _due(started_at: datetime, touchpoint: int) -> datetime:
    """When touchpoint n (1-based) is due: its cadence day after the start, a day lasting NURTURE_DAY_SECONDS."""
    return started_at + timedelta(seconds=CADENCE_DAYS[touchpoint - 1] * current().nurture_day_seconds)


def _sequence(row: dict[str, Any]) -> schemas.Sequence:
    return schemas.Sequence(**row)


async def _lead(scope: TenantScope, lead_id: int) -> dict[str, Any]:
    rows = await fetch("SELECT id, agent_id, contact_id, status FROM lead WHERE tenant_id = $1 AND id = $2", scope.tenant_id, lead_id)
    if not rows:
        raise unknown_reference("lead_id", lead_id, "lead")
    return rows[0]


async def start(scope: TenantScope, data: schemas.SequenceStart, queue: Queue | None) -> schemas.Sequence:
    """Start the sequence and schedule its first touchpoint; 409 when the lead already has an active one of this type."""
    async with tenant_transaction(scope.tenant_id):
        lead = await _lead(scope, data.lead_id)
        policy.SEND.require(scope, lead)
        templates = data.template_ids
        if templates:
            found = await fetch(
                "SELECT id FROM message_template WHERE tenant_id = $1 AND id = ANY($2::bigint[]) AND is_active", scope.tenant_id, templates
            )
            missing = set(templates) - {r["id"] for r in found}
            if missing:
                raise unknown_reference("template_ids", sorted(missing)[0], "active template")
        else:
            found = await fetch(
                "SELECT id FROM message_template WHERE tenant_id = $1 AND type = $2 AND is_active ORDER BY id LIMIT 3",
                scope.tenant_id,
                data.channel,
            )
            templates = [r["id"] for r in found]
            if not templates:
                raise Conflict(
                    f"No active {data.channel} template to send",
                    details={"field": "channel", "reason": "no_template"},
                    human="Add an active template for this channel first.",
                )
        started = datetime.now(UTC)
        rows = await fetch(
            f"""INSERT INTO nurture_sequence (tenant_id, lead_id, sequence_type, channel, template_ids, status, touchpoints_total,
                                              touchpoints_sent, next_touchpoint_at, started_by, started_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, 'active', $6, 0, $7, $8, $9, now())
                ON CONFLICT (tenant_id, lead_id, sequence_type) WHERE status = 'active' DO NOTHING
                RETURNING {_SEQUENCE}""",
            scope.tenant_id,
            data.lead_id,
            data.sequence_type,
            data.channel,
            templates,
            len(CADENCE_DAYS),
            _due(started, 1),
            scope.user_id,
            started,
        )
        if not rows:
            raise Conflict(
                f"The lead already has an active {data.sequence_type} sequence",
                details={"lead_id": data.lead_id, "sequence_type": data.sequence_type, "reason": "already_active"},
                human="This lead already has that sequence running.",
            )
        sequence = _sequence(rows[0])
        await emit(
            scope,
            Subject("lead", data.lead_id, contact_id=lead["contact_id"]),
            "sequence_started",
            f"{data.sequence_type.replace('_', ' ').capitalize()} sequence started ({data.channel}, days 3, 7 and 30)",
        )
    if queue is not None:
        await send_touchpoint.enqueue(
            queue, scheduled=sequence.next_touchpoint.timestamp() if sequence.next_touchpoint else None, tenant_id=scope.tenant_id,
            sequence_id=sequence.sequence_id, touchpoint=1,
        )  # fmt: skip
    return sequence


async def _stop(scope: TenantScope, sequence_id: int, reason: str, *, status: str = "stopped") -> schemas.Sequence | None:
    rows = await fetch(
        f"""UPDATE nurture_sequence SET status = $3, stop_reason = $4, stopped_at = now(), next_touchpoint_at = NULL, updated_at = now()
             WHERE tenant_id = $1 AND id = $2 AND status = 'active' RETURNING {_SEQUENCE}""",
        scope.tenant_id,
        sequence_id,
        status,
        reason[:60],
    )
    if not rows:
        return None
    stopped = _sequence(rows[0])
    lead = await fetch("SELECT contact_id FROM lead WHERE tenant_id = $1 AND id = $2", scope.tenant_id, stopped.lead_id)
    summary = (
        "Sequence completed"
        if status == "completed"
        else f"{stopped.sequence_type.replace('_', ' ').capitalize()} sequence stopped: {reason}"
    )
    await emit(scope, Subject("lead", stopped.lead_id, contact_id=lead[0]["contact_id"] if lead else None), "sequence_" + status, summary)
    return stopped


async def stop(scope: TenantScope, data: schemas.SequenceStop) -> schemas.Sequence:
    """Stop an active sequence (one already over is answered as it is)."""
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(f"SELECT {_SEQUENCE} FROM nurture_sequence WHERE tenant_id = $1 AND id = $2", scope.tenant_id, data.sequence_id)
        if not rows:
            raise ResourceNotFound("Sequence not found", details={"sequence_id": data.sequence_id})
        policy.SEND.require(scope, await _lead(scope, rows[0]["lead_id"]))
        return await _stop(scope, data.sequence_id, data.reason or "stopped") or _sequence(rows[0])


async def stop_for_lead(scope: TenantScope, lead_id: int | None, reason: str) -> None:
    """Stop every active sequence of the lead (a reply, an opt-out), inside the caller's transaction."""
    if lead_id is None:
        return
    rows = await fetch(
        "SELECT id FROM nurture_sequence WHERE tenant_id = $1 AND lead_id = $2 AND status = 'active'", scope.tenant_id, lead_id
    )
    for row in rows:
        await _stop(scope, row["id"], reason)


async def list_for_lead(scope: TenantScope, lead_id: int) -> list[schemas.Sequence]:
    """A lead's sequences, newest first."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await _lead(scope, lead_id)
        rows = await fetch(
            f"SELECT {_SEQUENCE} FROM nurture_sequence WHERE tenant_id = $1 AND lead_id = $2 ORDER BY started_at DESC, id DESC LIMIT 20",
            scope.tenant_id,
            lead_id,
        )
    return [_sequence(r) for r in rows]


async def lead_owner(scope: TenantScope, lead_id: int) -> dict[str, Any]:
    """The lead's agent, for the send permission's record rule on its page's card."""
    async with tenant_transaction(scope.tenant_id):
        return await _lead(scope, lead_id)


async def _converted(scope: TenantScope, lead: dict[str, Any]) -> bool:
    if lead["status"] in ("WON", "LOST"):
        return True
    return bool(await fetch("SELECT 1 FROM deal WHERE tenant_id = $1 AND lead_id = $2 LIMIT 1", scope.tenant_id, lead["id"]))


@job(key="nurture:{tenant_id}:{sequence_id}:{touchpoint}", timeout=60, retries=3, retry_delay=60.0)
async def send_touchpoint(ctx: Any, *, tenant_id: int, sequence_id: int, touchpoint: int) -> str:
    """Send touchpoint n of an active sequence (once: its communication's key is the sequence and n), then schedule the
    next or complete the sequence. A converted lead's sequence stops instead."""
    queue: Queue | None = ctx.get("worker").queue if ctx and ctx.get("worker") else None
    async with tenant_transaction(tenant_id):
        rows = await fetch("SELECT * FROM nurture_sequence WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant_id, sequence_id)
        if not rows or rows[0]["status"] != "active" or rows[0]["touchpoints_sent"] != touchpoint - 1:
            return "not due"
        sequence = rows[0]
        scope = TenantScope.system(tenant_id, "system:nurture", on_behalf_of=sequence["started_by"])
        lead = await _lead(scope, sequence["lead_id"])
        if await _converted(scope, lead):
            await _stop(scope, sequence_id, "converted")
            return "converted"
        template_ids = list(sequence["template_ids"])
        row, new = await service.compose(
            scope,
            template_id=template_ids[(touchpoint - 1) % len(template_ids)],
            property_id=None,
            lead_id=sequence["lead_id"],
            channel=sequence["channel"],
            key=f"nurture_{sequence_id}_{touchpoint}",
            send_now=True,
            sequence_id=sequence_id,
        )
        last = touchpoint >= sequence["touchpoints_total"]
        next_at = None if last else _due(sequence["started_at"], touchpoint + 1)
        await fetch(
            "UPDATE nurture_sequence SET touchpoints_sent = $3, next_touchpoint_at = $4, updated_at = now() "
            "WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            sequence_id,
            touchpoint,
            next_at,
        )
        if last:
            await _stop(scope, sequence_id, "all touchpoints sent", status="completed")
    if queue is not None:
        if new and row["status"] == "queued":
            await service.send_communication.enqueue(queue, tenant_id=tenant_id, communication_id=row["id"])
        if next_at is not None:
            await send_touchpoint.enqueue(
                queue,
                scheduled=max(next_at.timestamp(), time.time()),
                tenant_id=tenant_id,
                sequence_id=sequence_id,
                touchpoint=touchpoint + 1,
            )
    return f"touchpoint {touchpoint} {row['status']}"


@job(key="nurture-resume", timeout=300, retries=1)
async def resume_sequences(ctx: Any) -> int:
    """Every minute: queue again the touchpoints of active sequences that are more than a minute overdue (a job lost with
    its worker's queue, or a sequence made without a queue, such as the demo's). A touchpoint's key keeps it single."""
    queue: Queue = ctx["worker"].queue
    async with system_transaction():
        due = await fetch(
            """SELECT id, tenant_id, touchpoints_sent FROM nurture_sequence
                WHERE status = 'active' AND next_touchpoint_at < now() - interval '1 minute' ORDER BY next_touchpoint_at LIMIT 500"""
        )
    for row in due:
        await send_touchpoint.enqueue(queue, tenant_id=row["tenant_id"], sequence_id=row["id"], touchpoint=row["touchpoints_sent"] + 1)
    return len(due)
