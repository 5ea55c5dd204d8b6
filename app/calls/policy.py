"""Who may do what in the call center: the one place the API guards, the services, the screens and the templates read.

Admins, managers and support staff see and log every call; agents log calls and see their own (the calls they
made or took); finance sees none of it. Call analytics are for admins, managers and support. Telephony providers
(with their secrets) are set up by admins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.policy import INTEGRATION, SYSTEM, Actor, permission

# Roles that see and log every call.
DESK = frozenset({"admin", "manager", "support", INTEGRATION, SYSTEM})
# Roles a call can be given to as its agent.
AGENTS = frozenset({"admin", "manager", "support", "agent"})


def can_take_calls(role: str) -> bool:
    """Whether a person of this role can be a call's agent."""
    return role in AGENTS


def default_agent(actor: Actor) -> int | None:
    """Whose call a new one is when no agent is named: the caller's own, when they take calls."""
    return actor.user_id if actor.role in AGENTS else None


def sees_every_call(actor: Actor) -> bool:
    """The desk sees the whole log; an agent only their own calls (lists are filtered for them)."""
    return actor.role in DESK


def _own(actor: Actor, call: Any) -> bool:
    if actor.role in DESK:
        return True
    agent = call.get("agent_id") if isinstance(call, Mapping) else getattr(call, "agent_id", None)
    return actor.user_id is not None and agent == actor.user_id


VIEW = permission(
    "calls.view", {*DESK, "agent"}, "Your role cannot see calls", record_rule=_own, record_denied="Agents see only their own calls"
)
LOG = permission(
    "calls.log",
    {*DESK, "agent"},
    "Your role cannot log calls",
    record_rule=_own,
    record_denied="Agents log and change only their own calls",
)
ANALYTICS = permission("calls.analytics", {"admin", "manager", "support", INTEGRATION}, "Your role cannot see call analytics")
PROVIDERS = permission("telephony.providers", {"admin", INTEGRATION}, "Only admins can set up telephony providers")
