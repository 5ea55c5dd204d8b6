"""The event types Atrium publishes: each domain declares its own in `domain.py` (`events={name: description}`)."""

from __future__ import annotations

from functools import cache

from app.domains import domains

ALL = "*"


@cache
def event_types() -> dict[str, str]:
    """Every event type webhooks can subscribe to, and what it means, in declaration order."""
    return {name: description for domain in domains() for name, description in domain.events.items()}


@cache
def live_only() -> dict[str, str]:
    """Event types only the live stream sends (never delivered to webhooks)."""
    return {name: description for domain in domains() for name, description in domain.live_events.items()}


def declared(name: str) -> bool:
    """Whether `emit` may publish `name`."""
    return name in event_types() or name in live_only()


def unknown(names: list[str]) -> list[str]:
    """The names that are neither a published event type nor `*`."""
    known = event_types()
    return [name for name in names if name != ALL and name not in known]
