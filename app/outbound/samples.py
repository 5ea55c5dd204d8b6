"""Sample payloads for test events (§9.2): a lead like the guide's own example for lead events."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.leads import events as lead_events

SAMPLE_LEAD: dict[str, Any] = {
    "id": 12345,
    "source": "telegram",
    "name": "Ali Hassan",
    "phone": "+971501234567",
    "email": None,
    "telegram_username": "@ali_investor",
    "telegram_chat_id": "987654321",
    "language": "ar",
    "budget_min": Decimal(2000000),
    "budget_max": Decimal(3000000),
    "budget_currency": "AED",
    "transaction_type": "BUY",
    "property_type": "APARTMENT",
    "purpose": "INVESTMENT",
    "bedrooms_min": 2,
    "bedrooms_max": 3,
    "preferred_location": "Dubai Marina",
    "preferred_locations": ["Dubai Marina", "JBR", "Business Bay"],
    "status": "QUALIFIED",
    "hotness_score": 88,
    "temperature": "hot",
    "qualification_duration_seconds": 68,
    "message_count": 12,
    "voice_messages_sent": 1,
    "images_uploaded": 0,
    "conversation_state": "ENGAGEMENT",
    "pain_point": "inflation_risk",
    "urgency_score": 7,
    "voice_transcript": "I want to invest in Dubai real estate to protect my wealth from inflation...",
    "custom_fields": {"referral_source": "Instagram Ad", "campaign_id": "camp_summer2025"},
}


def sample(event_type: str) -> dict[str, Any]:
    """The `data` of a test event of this type."""
    lead = {**SAMPLE_LEAD, "last_interaction": datetime.now(UTC).replace(microsecond=0)}
    if event_type == "lead.hot":
        return {**lead_events.hot_payload(lead), "test": True}
    if event_type in ("lead.scored", "lead.score_changed"):
        return {**lead_events.score_payload(lead, 71), "test": True}
    if event_type.startswith(("lead.", "conversation.")):
        return {**lead_events.payload(lead), "test": True}
    return {"test": True, "message": f"A test {event_type} event from Atrium"}
