"""Who may do what with appointments: the one place the API guards, the services, the screens and the templates read.

Everyone in the tenant sees the agenda. Admins, managers and write integrations book and change any
appointment; agents book for themselves and change only their own; support and finance only read.
A calendar feed is for the people who hold appointments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.policy import EVERYONE, INTEGRATION, SYSTEM, Actor, permission

# Roles that manage every appointment, not only their own.
MANAGE_ANY = frozenset({"admin", "manager", INTEGRATION, SYSTEM})
# The roles that hold appointments (an appointment's agent is one of them).
HOLDERS = frozenset({"admin", "manager", "agent"})


def can_hold(role: str) -> bool:
    """Whether a person of this role can be an appointment's agent."""
    return role in HOLDERS


def _agent_of(record: Any) -> int | None:
    if isinstance(record, int):
        return record
    value = record.get("agent_id") if isinstance(record, Mapping) else record.agent_id
    return int(value) if value is not None else None


def _manages(actor: Actor, record: Any) -> bool:
    """Agents manage their own appointments (and book only for themselves); the others any."""
    return actor.role in MANAGE_ANY or _agent_of(record) == actor.user_id


def default_agent(actor: Actor) -> int | None:
    """Whose appointment a new booking is when nobody is named: the booker's own, when they can hold one."""
    return actor.user_id if actor.role in HOLDERS else None


VIEW = permission("appointments.view", {*EVERYONE, SYSTEM}, "Your role cannot see appointments")
MANAGE = permission(
    "appointments.manage",
    {*HOLDERS, INTEGRATION, SYSTEM},
    "Your role cannot book or change appointments",
    record_rule=_manages,
    record_denied="Agents can book and change only their own appointments",
)
FEED = permission("appointments.feed", HOLDERS, "Only people who hold appointments have a calendar feed")
