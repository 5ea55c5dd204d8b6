"""The event types Atrium publishes: each domain declares its own in `domain.py` (`events={name: description}`)."""

from __future__ import annotations

from functools import cache

from app.domains import domains

ALL = "*"


@cache
def event_types() -> dict[str, str]:
    """Every published event type and what it means, in declaration order."""
    return {name: description for domain in domains() for name, description in domain.events.items()}


def unknown(names: list[str]) -> list[str]:
    """The names that are neither a published event type nor `*`."""
    known = event_types()
    return [name for name in names if name != ALL and name not in known]
