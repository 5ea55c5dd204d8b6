"""Who may do what at the support desk: the one place the API guards, the services, the screens and the templates read.

Support staff, managers and admins work every ticket (answer, change, assign, bulk assign) and keep the
knowledge base and the SLA settings; agents see and answer only the tickets given to them or that they opened
(they log customers' issues), and cannot reassign them; finance sees none of it. Write integrations act like
the support team. Everyone but finance reads the knowledge base; sentiment analysis is for those who see tickets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.policy import INTEGRATION, SYSTEM, Actor, permission

# Roles that work every ticket, not only their own.
DESK = frozenset({"admin", "manager", "support", INTEGRATION, SYSTEM})
# Roles a ticket can be given to.
ASSIGNEES = frozenset({"admin", "manager", "support", "agent"})


def can_be_assigned(role: str) -> bool:
    """Whether a person of this role can be a ticket's assignee (finance cannot)."""
    return role in ASSIGNEES


def _field(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, Mapping) else getattr(record, name)


def sees_every_ticket(actor: Actor) -> bool:
    """The desk sees the whole queue; an agent only their own tickets (lists are filtered for them)."""
    return actor.role in DESK


def _own(actor: Actor, ticket: Any) -> bool:
    """Agents work tickets assigned to them or that they opened; the desk every ticket."""
    if actor.role in DESK:
        return True
    return actor.user_id is not None and actor.user_id in (_field(ticket, "assigned_to"), _field(ticket, "created_by"))


VIEW = permission(
    "tickets.view",
    {*DESK, "agent"},
    "Your role cannot see support tickets",
    record_rule=_own,
    record_denied="Agents see only the tickets given to them or that they opened",
)
CREATE = permission("tickets.create", {*DESK, "agent"}, "Your role cannot open support tickets")
WORK = permission(
    "tickets.work",
    {*DESK, "agent"},
    "Your role cannot work support tickets",
    record_rule=_own,
    record_denied="Agents can answer and change only the tickets given to them or that they opened",
)
ASSIGN = permission("tickets.assign", DESK, "Only support staff, managers and admins can assign tickets")
SETTINGS = permission("support.settings", {"admin", INTEGRATION}, "Only admins can change SLA policies and business hours")
KB_VIEW = permission("kb.view", {"admin", "manager", "support", "agent", INTEGRATION, SYSTEM}, "Your role cannot read the knowledge base")
KB_EDIT = permission("kb.edit", DESK, "Only support staff, managers and admins can write knowledge-base articles")
SENTIMENT = permission("sentiment.analyze", {*DESK, "agent"}, "Your role cannot analyse sentiment")
# Canned replies: whoever answers tickets uses them; support staff and admins keep the tenant's shared set.
CANNED_USE = permission("canned_replies.use", {*DESK, "agent"}, "Your role cannot use canned replies")
CANNED_MANAGE = permission(
    "canned_replies.manage", {"admin", "support", INTEGRATION}, "Only support staff and admins can change canned replies"
)
