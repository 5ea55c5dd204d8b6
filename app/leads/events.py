"""What a lead's changes publish: the event types of the reference guide (§2.1) and their payloads (§2.3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from app.leads.scoring import score_lead
from app.settings import base_url

EVENTS = {
    "lead.created": "A lead was created (by hand, the API or an import)",
    "lead.qualified": "A lead's status became QUALIFIED",
    "lead.phone_captured": "A lead's phone number was provided",
    "lead.hot": "A lead became hot (score of 70 or more, or a budget above 5M with a fast response)",
    "lead.status_changed": "A lead's status changed",
    "lead.scored": "A lead was scored",
    "lead.score_changed": "A lead's score changed",
    "lead.updated": "Anything about a lead changed (`changed_fields` says what)",
    "lead.deleted": "A lead was deleted (an admin can restore it)",
    "lead.restored": "A deleted lead was restored",
    "conversation.timeout": "A lead has been inactive for 24 hours",
}

# The order of the reference payload (§2.3), then Atrium's own fields.
PAYLOAD_FIELDS = (
    "source", "name", "phone", "email", "telegram_username", "telegram_chat_id", "language",
    "budget_min", "budget_max", "budget_currency", "transaction_type", "property_type", "purpose",
    "bedrooms_min", "bedrooms_max", "preferred_location", "preferred_locations",
    "status", "hotness_score", "qualification_duration_seconds", "message_count", "voice_messages_sent", "images_uploaded",
    "conversation_state", "pain_point", "urgency_score", "last_interaction", "voice_transcript",
)  # fmt: skip


def number(value: Any) -> Any:
    """Money as the shortest exact JSON number (2000000.00 → 2000000), as JavaScript would write it back."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value.normalize()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# A lead's ROI report address (the ArtinSmartRealty guide's `roi_report_url`), given by the domain that makes the reports
# when it is installed (app/billing/domain.py): it uses leads, so leads cannot ask it directly.
_roi_report_url: list[Callable[[int], str]] = []


def provide_roi_report_url(address: Callable[[int], str]) -> None:
    """Let the domain that makes ROI reports say where a lead's is."""
    _roi_report_url[:] = [address]


def roi_report_url(lead_id: int) -> str | None:
    """Where the lead's ROI report PDF is, when a domain makes them."""
    return _roi_report_url[0](lead_id) if _roi_report_url else None


def conversation_url(lead_id: int) -> str:
    """Where a person opens the lead (the same link as the API's `conversation_url`)."""
    return f"{base_url()}/leads/{lead_id}"


def payload(lead: dict[str, Any]) -> dict[str, Any]:
    """The `data` of lead events: the lead as in the guide's `lead.qualified` example."""
    data: dict[str, Any] = {"lead_id": lead["id"]}
    data.update({name: number(lead.get(name)) for name in PAYLOAD_FIELDS})
    data["preferred_locations"] = list(lead.get("preferred_locations") or [])
    data.update(
        conversation_url=conversation_url(lead["id"]),
        roi_report_url=roi_report_url(lead["id"]),
        custom_fields=_decoded(lead.get("custom_fields")) or {},
        temperature=lead.get("temperature"),
        agent_id=lead.get("agent_id"),
        contact_id=lead.get("contact_id"),
        company_id=lead.get("company_id"),
        campaign_id=lead.get("campaign_id"),
        created_at=lead.get("created_at"),
        updated_at=lead.get("updated_at"),
    )
    return data


def hot_payload(lead: dict[str, Any]) -> dict[str, Any]:
    """The `data` of `lead.hot` (§2.3): why the lead is hot and what to do now."""
    result = score_lead(lead)
    return {
        "lead_id": lead["id"],
        "name": lead.get("name"),
        "phone": lead.get("phone"),
        "budget_min": number(lead.get("budget_min")),
        "budget_max": number(lead.get("budget_max")),
        "property_type": lead.get("property_type"),
        "purpose": lead.get("purpose"),
        "hotness_score": lead.get("hotness_score"),
        "urgency_indicators": result.urgency_indicators,
        "recommended_action": result.recommended_action,
        "conversation_url": conversation_url(lead["id"]),
    }


def score_payload(lead: dict[str, Any], previous: int | None) -> dict[str, Any]:
    """The `data` of `lead.scored` and `lead.score_changed`."""
    return {
        "lead_id": lead["id"],
        "hotness_score": lead.get("hotness_score"),
        "previous_score": previous,
        "temperature": lead.get("temperature"),
        "score_factors": _decoded(lead.get("score_factors")) or {},
        "score_confidence": number(lead.get("score_confidence")),
        "conversation_url": conversation_url(lead["id"]),
    }


def of_change(before: dict[str, Any] | None, after: dict[str, Any], *, scored: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """The events a lead's change publishes: `before` is None for a new lead; `scored` says it was scored on purpose."""
    events: list[tuple[str, dict[str, Any]]] = []
    data = payload(after)
    was = before or {}
    if before is None:
        events.append(("lead.created", data))
    if before is not None and was.get("status") != after.get("status"):
        events.append(("lead.status_changed", {**data, "previous_status": was.get("status")}))
    if after.get("status") == "QUALIFIED" and was.get("status") != "QUALIFIED":
        events.append(("lead.qualified", data))
    if after.get("phone") and not was.get("phone"):
        events.append(("lead.phone_captured", data))
    if after.get("temperature") == "hot" and was.get("temperature") != "hot":
        events.append(("lead.hot", hot_payload(after)))
    previous = was.get("hotness_score")
    changed = before is not None and previous != after.get("hotness_score")
    if scored or before is None or changed:
        events.append(("lead.scored", score_payload(after, previous)))
    if changed:
        events.append(("lead.score_changed", score_payload(after, previous)))
    fields = sorted(k for k in after if before is not None and k not in IGNORED and was.get(k) != after.get(k))
    if fields:
        events.append(("lead.updated", {**data, "changed_fields": fields}))
    return events


# Columns whose change alone is not news (bookkeeping), for `lead.updated`.
IGNORED = frozenset({"updated_at", "score_factors", "score_confidence", "ghost_reminder_sent"})
