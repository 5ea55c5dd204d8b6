"""Who may do what with leads: the one place the API guards, the services, the screens and the templates read.

Everyone in the tenant reads; admins, managers and integrations edit any lead; agents edit leads
assigned to them or to nobody, and may only assign to themselves; support and finance only read.
Admins, managers and write integrations delete (softly); only admins restore and list deleted
leads. Exporting is a right of its own: the people who work leads, and integrations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.policy import EVERYONE, INTEGRATION, SYSTEM, Actor, permission

# Roles that may edit every lead, not only their own.
EDIT_ANY = frozenset({"admin", "manager", INTEGRATION, SYSTEM})
WORKERS = frozenset({"admin", "manager", "agent", INTEGRATION, SYSTEM})


def _agent_of(lead: Any) -> int | None:
    value = lead.get("agent_id") if isinstance(lead, Mapping) else lead.agent_id
    return int(value) if value is not None else None


def _edits(actor: Actor, lead: Any) -> bool:
    """Agents edit leads assigned to them or to nobody; the other editors any lead."""
    return actor.role in EDIT_ANY or _agent_of(lead) in (None, actor.user_id)


def _assigns(actor: Actor, agent_id: Any) -> bool:
    """Agents assign only to themselves (or to nobody)."""
    return actor.role != "agent" or agent_id == actor.user_id


# The roles a lead can be assigned to: the people who work leads.
OWNERS = frozenset({"admin", "manager", "agent"})


def can_own(role: str) -> bool:
    """Whether a person of this role can be a lead's agent (support and finance cannot)."""
    return role in OWNERS


def default_assignee(actor: Actor) -> int | None:
    """Whom a new lead is assigned to when the creator names nobody: an agent's own leads are theirs."""
    return actor.user_id if actor.role == "agent" else None


VIEW = permission("leads.view", {*EVERYONE, SYSTEM}, "Your role cannot see leads")
CREATE = permission("leads.create", WORKERS, "Your role cannot create leads")
EDIT = permission(
    "leads.edit",
    WORKERS,
    "Your role cannot edit leads",
    record_rule=_edits,
    record_denied="You can edit only leads assigned to you or to nobody",
)
ASSIGN = permission(
    "leads.assign",
    WORKERS,
    "Your role cannot assign leads",
    record_rule=_assigns,
    record_denied="Agents can only assign leads to themselves",
)
SCORE = permission("leads.score", WORKERS, "Your role cannot rescore leads")
SCORE_ALL = permission("leads.score_all", {"admin", "manager", SYSTEM}, "Only admins and managers can rescore every lead")
DELETE = permission("leads.delete", {"admin", "manager", INTEGRATION}, "Only admins and managers can delete leads")
RESTORE = permission("leads.restore", {"admin"}, "Only an admin can restore leads")
VIEW_DELETED = permission("leads.view_deleted", {"admin"}, "Only admins can list deleted leads")
EXPORT = permission("leads.export", {"admin", "manager", "agent", INTEGRATION, SYSTEM}, "Your role cannot export leads")
# An export job's file is its requester's (admins see every one): its filters may show what others cannot list.
SEE_ANY_EXPORT = permission("leads.see_any_export", {"admin", SYSTEM}, "Only an admin can see other people's exports")


def lists_own_first(actor: Actor) -> bool:
    """Agents open the leads list on their own leads ("My leads"); the others on every lead."""
    return actor.role == "agent"


# A bulk operation over matching leads is its requester's (admins see every one): its filters may name what others cannot list.
SEE_ANY_BULK = permission("leads.see_any_bulk", {"admin", SYSTEM}, "Only an admin can see other people's bulk changes")
