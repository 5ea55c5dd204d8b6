"""Lead scoring: plain rules whose points add up to the score, so every score can be explained.

| factor        | max | rule |
| ------------- | --: | ---- |
| budget        |  30 | top of the budget range: ≥ 5M → 30, ≥ 2M → 22, ≥ 1M → 15, ≥ 500k → 8, any → 4 |
| contact       |  15 | phone 10, e-mail 5 |
| qualification |  20 | property type 5, transaction type 4, purpose 4, location 4, bedrooms 3 |
| engagement    |  20 | messages (≥ 10: 10, ≥ 3: 6, ≥ 1: 3), a voice message 4, last touch < 24 h 6 (< 7 days 3) |
| urgency       |  15 | urgency score (0-10) * 1.5 |

Temperature: hot at 70 or more, warm at 40 or more, else cold. The guide's "hot" rule (§2.1)
also makes a lead hot whatever its score: budget above 5,000,000 (in AED, or the same figure in
the lead's currency) with a fast response (qualified within 2 minutes, or a touch in the last
hour). Won and lost leads are scored but never hot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

HOT_BUDGET = Decimal(5_000_000)
BUDGET_STEPS = [(Decimal(5_000_000), 30), (Decimal(2_000_000), 22), (Decimal(1_000_000), 15), (Decimal(500_000), 8), (Decimal(0), 4)]


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """The outcome of the rules for one lead."""

    score: int
    temperature: str
    factors: dict[str, int]
    confidence: float
    hot: bool
    urgency_indicators: list[str]
    recommendations: list[str]

    @property
    def recommended_action(self) -> str:
        """The first thing to do."""
        return self.recommendations[0] if self.recommendations else "Keep nurturing"


def _budget_points(lead: dict[str, Any]) -> int:
    top = lead.get("budget_max") or lead.get("budget_min")
    if top is None:
        return 0
    return next(points for threshold, points in BUDGET_STEPS if Decimal(top) >= threshold)


def score_lead(lead: dict[str, Any], now: datetime | None = None) -> ScoreResult:
    """Score a lead row (a mapping of its columns)."""
    now = now or datetime.now(UTC)
    last = lead.get("last_interaction")
    since_last = (now - last) if isinstance(last, datetime) else None
    messages = int(lead.get("message_count") or 0)

    factors = {
        "budget": _budget_points(lead),
        "contact": (10 if lead.get("phone") else 0) + (5 if lead.get("email") else 0),
        "qualification": (5 if lead.get("property_type") else 0)
        + (4 if lead.get("transaction_type") else 0)
        + (4 if lead.get("purpose") else 0)
        + (4 if lead.get("preferred_location") or lead.get("preferred_locations") else 0)
        + (3 if lead.get("bedrooms_min") is not None or lead.get("bedrooms_max") is not None else 0),
        "engagement": (10 if messages >= 10 else 6 if messages >= 3 else 3 if messages >= 1 else 0)
        + (4 if (lead.get("voice_messages_sent") or 0) > 0 else 0)
        + (
            6
            if since_last is not None and since_last < timedelta(hours=24)
            else 3
            if since_last is not None and since_last < timedelta(days=7)
            else 0
        ),
        "urgency": round(min(10, max(0, int(lead.get("urgency_score") or 0))) * 1.5),
    }
    score = min(100, sum(factors.values()))

    known = [
        lead.get("budget_max") is not None or lead.get("budget_min") is not None,
        bool(lead.get("phone") or lead.get("email")),
        bool(lead.get("property_type")),
        bool(lead.get("transaction_type")),
        bool(lead.get("purpose")),
        bool(lead.get("preferred_location") or lead.get("preferred_locations")),
        messages > 0 or last is not None,
        lead.get("urgency_score") is not None,
    ]
    confidence = round(0.3 + 0.7 * sum(known) / len(known), 2)

    budget_top = lead.get("budget_max") or lead.get("budget_min")
    indicators: list[str] = []
    if budget_top is not None and Decimal(budget_top) > HOT_BUDGET:
        indicators.append("budget_above_5m")
    duration = lead.get("qualification_duration_seconds")
    fast = (duration is not None and duration <= 120) or (since_last is not None and since_last < timedelta(hours=1))
    if fast:
        indicators.append("fast_response_time")
    if lead.get("purpose") == "RESIDENCY":
        indicators.append("golden_visa_intent")
    if lead.get("phone"):
        indicators.append("phone_provided")
    if (lead.get("urgency_score") or 0) >= 8:
        indicators.append("high_urgency")

    closed = lead.get("status") in ("WON", "LOST")
    hot_rule = "budget_above_5m" in indicators and "fast_response_time" in indicators
    hot = not closed and (score >= 70 or hot_rule)
    temperature = "hot" if hot else ("warm" if score >= 40 and not closed else "cold")

    recommendations: list[str] = []
    if hot:
        recommendations.append("Call within 15 minutes")
    if not lead.get("phone"):
        recommendations.append("Capture a phone number")
    if budget_top is None:
        recommendations.append("Qualify the budget")
    if not lead.get("property_type") or not lead.get("transaction_type"):
        recommendations.append("Ask what they want to buy, rent or sell")
    if since_last is not None and since_last > timedelta(days=7) and not closed:
        recommendations.append(f"Re-engage: last touch was {since_last.days} days ago")
    if temperature == "warm" and lead.get("status") in ("NEW", "CONTACTED", "QUALIFIED"):
        recommendations.append("Offer a viewing")
    return ScoreResult(score, temperature, factors, confidence, hot, indicators, recommendations)
