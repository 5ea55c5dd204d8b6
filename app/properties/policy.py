"""Who may do what with properties and portfolios: the one place the API guards, the services, the screens and the
templates read.

Everyone in the tenant reads properties (support and finance too). Agents add properties and edit the
ones assigned to them or to nobody (and may only take a property themselves); admins, managers and write
integrations edit any, assign them and delete them. Portfolios and their reconciliation are for admins,
managers and finance (who reconcile values); matching buyers and seller analyses for the people who sell.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.policy import EVERYONE, INTEGRATION, SYSTEM, Actor, permission

EDIT_ANY = frozenset({"admin", "manager", INTEGRATION, SYSTEM})
WORKERS = frozenset({"admin", "manager", "agent", INTEGRATION, SYSTEM})
# The roles a property can be assigned to: the people who work them.
OWNERS = frozenset({"admin", "manager", "agent"})


def _assignee_of(record: Any) -> int | None:
    value = record.get("assigned_user_id") if isinstance(record, Mapping) else record.assigned_user_id
    return int(value) if value is not None else None


def _edits(actor: Actor, record: Any) -> bool:
    """Agents edit properties assigned to them or to nobody; the other editors any."""
    return actor.role in EDIT_ANY or _assignee_of(record) in (None, actor.user_id)


def _assigns(actor: Actor, user_id: Any) -> bool:
    """Agents assign only to themselves (or to nobody)."""
    return actor.role != "agent" or user_id in (None, actor.user_id)


def can_own(role: str) -> bool:
    """Whether a person of this role can be assigned a property (support and finance cannot)."""
    return role in OWNERS


def default_assignee(actor: Actor) -> int | None:
    """Who works a new property when the creator names nobody: an agent's own are theirs."""
    return actor.user_id if actor.role == "agent" else None


VIEW = permission("properties.view", {*EVERYONE, SYSTEM}, "Your role cannot see properties")
CREATE = permission("properties.create", WORKERS, "Your role cannot add properties")
EDIT = permission(
    "properties.edit",
    WORKERS,
    "Your role cannot change properties",
    record_rule=_edits,
    record_denied="You can change only properties assigned to you or to nobody",
)
ASSIGN = permission(
    "properties.assign",
    WORKERS,
    "Your role cannot assign properties",
    record_rule=_assigns,
    record_denied="Agents can only take properties themselves",
)
DELETE = permission("properties.delete", {"admin", "manager", INTEGRATION}, "Only admins and managers can delete properties")
MATCH = permission("properties.match", WORKERS, "Your role cannot match buyers to properties")
ANALYZE = permission("properties.analyze", WORKERS, "Your role cannot run seller analyses")
PORTFOLIO_VIEW = permission(
    "portfolios.view", {"admin", "manager", "finance", INTEGRATION, SYSTEM}, "Only admins, managers and finance see portfolios"
)
PORTFOLIO_MANAGE = permission(
    "portfolios.manage", {"admin", "manager", "finance", INTEGRATION}, "Only admins, managers and finance manage portfolios"
)
