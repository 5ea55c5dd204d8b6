"""The customer journey of a lead (EnterpriseHub: Customer Journey): its touches read from the timeline (the lead's,
and its contact's records': calls, appointments, deals), its stage from the lead's status, and the next action from
plain rules whose reason is given with it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.core.errors import ResourceNotFound
from app.db import TenantScope, fetch, tenant_transaction
from app.messages import policy, schemas

STAGES = {
    "NEW": "inquiry",
    "CONTACTED": "engaged",
    "QUALIFIED": "property_search",
    "VIEWING_SCHEDULED": "viewing",
    "NEGOTIATING": "negotiation",
    "WON": "closed_won",
    "LOST": "closed_lost",
}
# Timeline kinds as journey actions; the channel follows the record (a call's is the phone) or the message.
ACTIONS = {
    "created": "inquiry_submitted",
    "memo_sent": "message_sent",
    "reply_received": "reply_received",
    "call_logged": "call_logged",
    "appointment_booked": "showing_scheduled",
    "sequence_started": "nurture_started",
    "sequence_stopped": "nurture_stopped",
    "sequence_completed": "nurture_completed",
    "status_changed": "status_changed",
    "scored": "scored",
}
MAX_TOUCHPOINTS = 200


def _channel(entry: dict[str, Any], source: str) -> str:
    if entry["subject_type"] == "call":
        return "phone"
    if entry["subject_type"] == "appointment" or entry["kind"].startswith("appointment"):
        return "in_person"
    summary = entry["summary"] or ""
    if entry["kind"] in ("memo_sent", "memo_generated", "reply_received") or entry["kind"].startswith("delivery_"):
        return "sms" if summary.startswith("Text message") or "+" in summary.split(" replied")[0][:20] else "email"
    if entry["kind"] == "created":
        return (source or "web").lower()
    return "crm"


def _bot(entry: dict[str, Any]) -> str | None:
    actor = entry["actor"] or ""
    if actor == "system:nurture":
        return "nurture_sequence"
    if actor.startswith("system:") or actor in ("GHL", "e-mail provider", "SMS provider"):
        return actor.removeprefix("system:")
    return None


def next_action(lead: dict[str, Any], touches: list[schemas.JourneyTouchpoint], active_sequence: dict[str, Any] | None) -> tuple[str, str]:
    """The next recommended action and why, by rules read top to bottom."""
    status = lead["status"]
    actions = [t.action for t in touches]
    if status == "WON":
        return "Ask for a referral and a review", "The lead was won"
    if status == "LOST":
        return "Start a long-term nurture sequence", "The lead was lost; a light touch every few weeks keeps the door open"
    if "reply_received" in actions and (not any(a == "call_logged" for a in actions[actions.index("reply_received") :])):
        return "Call them back: they replied", "A reply came in and no call was logged since"
    if status == "NEGOTIATING":
        return "Send a property comparison report", "The lead is negotiating"
    if status == "VIEWING_SCHEDULED":
        return "Confirm the viewing and send directions", "A viewing is booked"
    if status == "QUALIFIED":
        return "Book a viewing", "The lead is qualified"
    if "message_sent" not in actions and "call_logged" not in actions:
        return "Send an introduction message", "Nobody has contacted the lead yet"
    if active_sequence is not None and active_sequence["next_touchpoint_at"] is not None:
        when = active_sequence["next_touchpoint_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"Let the nurture sequence run (next touch {when})", "A nurture sequence is active"
    last = touches[-1].timestamp if touches else lead["created_at"]
    days = (datetime.now(UTC) - last).days
    if days >= 7:
        return f"Follow up: no contact for {days} days", "A week or more without a touch"
    return "Call to qualify the lead", "The lead has been contacted but not qualified"


async def customer_journey(scope: TenantScope, lead_id: int) -> schemas.CustomerJourney:
    """The lead's journey (404 when it is not the tenant's)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        leads = await fetch(
            "SELECT id, status, source, contact_id, created_at FROM lead WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
            scope.tenant_id,
            lead_id,
        )
        if not leads:
            raise ResourceNotFound("Lead not found", details={"lead_id": lead_id})
        lead = leads[0]
        # The lead's own entries, and those of its contact's other records (calls, appointments, deals).
        entries = await fetch(
            f"""SELECT * FROM (
                  SELECT id, subject_type, subject_id, kind, summary, actor, created_at FROM activity
                   WHERE tenant_id = $1 AND subject_type = 'lead' AND subject_id = $2
                  UNION
                  SELECT id, subject_type, subject_id, kind, summary, actor, created_at FROM activity
                   WHERE tenant_id = $1 AND $3::bigint IS NOT NULL AND contact_id = $3 AND subject_type <> 'lead'
                ) e ORDER BY created_at DESC, id DESC LIMIT {MAX_TOUCHPOINTS}""",
            scope.tenant_id,
            lead_id,
            lead["contact_id"],
        )
        active = await fetch(
            "SELECT next_touchpoint_at FROM nurture_sequence WHERE tenant_id = $1 AND lead_id = $2 AND status = 'active' LIMIT 1",
            scope.tenant_id,
            lead_id,
        )
    touches = [
        schemas.JourneyTouchpoint(
            timestamp=e["created_at"],
            channel=_channel(e, lead["source"] or ""),
            action=ACTIONS.get(e["kind"], e["kind"]),
            summary=e["summary"] or "",
            bot=_bot(e),
        )
        for e in reversed(entries)
        if e["kind"] != "memo_generated"  # the memo's queuing; its sending is the touch
    ]
    action, reason = next_action(lead, touches, active[0] if active else None)
    return schemas.CustomerJourney(
        lead_id=lead_id,
        journey_stage=STAGES.get(lead["status"], lead["status"].lower()),
        touchpoints=touches,
        next_recommended_action=action,
        reason=reason,
    )
