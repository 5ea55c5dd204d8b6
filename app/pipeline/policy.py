"""Who may do what with pipelines and deals: the one place the API guards, the services, the screens and the templates read.

Everyone in the tenant sees the board. Admins, managers and write integrations change any deal; agents
create deals, and move and edit their own and unowned ones (and may only give a deal to themselves);
support and finance only read. Pipelines and stages are set up by admins and managers, who alone may
push a deal into a stage past its WIP limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.policy import EVERYONE, INTEGRATION, SYSTEM, Actor, permission

# Roles that may change every deal, not only their own.
EDIT_ANY = frozenset({"admin", "manager", INTEGRATION, SYSTEM})
WORKERS = frozenset({"admin", "manager", "agent", INTEGRATION, SYSTEM})


def _owner_of(deal: Any) -> int | None:
    value = deal.get("owner_id") if isinstance(deal, Mapping) else deal.owner_id
    return int(value) if value is not None else None


def _edits(actor: Actor, deal: Any) -> bool:
    """Agents change deals they own or nobody owns; the other editors any deal."""
    return actor.role in EDIT_ANY or _owner_of(deal) in (None, actor.user_id)


def _gives(actor: Actor, owner_id: Any) -> bool:
    """Agents give deals only to themselves (or to nobody)."""
    return actor.role != "agent" or owner_id in (None, actor.user_id)


# The roles a deal can be given to: the people who work deals.
OWNERS = frozenset({"admin", "manager", "agent"})


def can_own(role: str) -> bool:
    """Whether a person of this role can own a deal (support and finance cannot)."""
    return role in OWNERS


def default_owner(actor: Actor) -> int | None:
    """Who owns a new deal when the creator names nobody: an agent's own deals are theirs."""
    return actor.user_id if actor.role == "agent" else None


VIEW = permission("deals.view", {*EVERYONE, SYSTEM}, "Your role cannot see deals")
CREATE = permission("deals.create", WORKERS, "Your role cannot create deals")
EDIT = permission(
    "deals.edit",
    WORKERS,
    "Your role cannot change deals",
    record_rule=_edits,
    record_denied="You can change only deals you own or nobody owns",
)
ASSIGN = permission(
    "deals.assign",
    WORKERS,
    "Your role cannot give deals to people",
    record_rule=_gives,
    record_denied="Agents can only take deals themselves",
)
DELETE = permission("deals.delete", {"admin", "manager", INTEGRATION}, "Only admins and managers can delete deals")
OVERRIDE_WIP = permission("deals.override_wip", {"admin", "manager"}, "Only admins and managers can go past a stage's WIP limit")
MANAGE_PIPELINES = permission(
    "pipelines.manage", {"admin", "manager", INTEGRATION}, "Only admins and managers can change pipelines and stages"
)
