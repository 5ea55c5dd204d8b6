"""Who may do what with templates and messages: the one place the API guards, the services, the screens and the
templates read. Everyone who sells reads templates and sends them to their own leads and properties (assigned to
them or to nobody); admins and managers manage templates and send to any; admins set the providers' webhook secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.policy import INTEGRATION, SYSTEM, Actor, permission

SEND_ANY = frozenset({"admin", "manager", INTEGRATION, SYSTEM})
SENDERS = frozenset({"admin", "manager", "agent", INTEGRATION, SYSTEM})


def _owner_of(record: Any) -> int | None:
    if isinstance(record, Mapping):
        value = record.get("assigned_user_id", record.get("agent_id"))
    else:
        value = getattr(record, "assigned_user_id", getattr(record, "agent_id", None))
    return int(value) if value is not None else None


def _sends_to(actor: Actor, record: Any) -> bool:
    """Agents message the leads and properties assigned to them or to nobody."""
    return actor.role in SEND_ANY or _owner_of(record) in (None, actor.user_id)


VIEW = permission("messages.view", SENDERS, "Your role cannot see messages")
MANAGE_TEMPLATES = permission(
    "messages.manage_templates", {"admin", "manager", INTEGRATION}, "Only admins and managers manage message templates"
)
SEND = permission(
    "messages.send",
    SENDERS,
    "Your role cannot send messages",
    record_rule=_sends_to,
    record_denied="You can message only leads and properties assigned to you or to nobody",
)
PROVIDERS = permission("messages.providers", {"admin"}, "Only admins set the message providers' webhook secrets")
