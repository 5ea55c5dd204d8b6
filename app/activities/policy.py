"""Who may do what with tasks (the API's activities): the one place the API guards, the services, the screens and the
templates read.

Admins and managers see and change every task and give tasks to anyone; agents and support staff see and change their
own and unowned tasks and give tasks only to themselves; finance has no tasks. A manager sees the team's queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.policy import INTEGRATION, SYSTEM, Actor, permission

# Roles that see and change every task, not only their own.
ALL_TASKS = frozenset({"admin", "manager", INTEGRATION, SYSTEM})
# The roles a task can be given to (its owner).
OWNERS = frozenset({"admin", "manager", "agent", "support"})


def can_own(role: str) -> bool:
    """Whether a person of this role can own a task."""
    return role in OWNERS


def default_owner(actor: Actor) -> int | None:
    """Whose task a new one is when no owner is named: the caller's, when they can own tasks."""
    return actor.user_id if actor.role in OWNERS else None


def sees_every_task(actor: Actor) -> bool:
    """Admins and managers (and machines) see the whole team's tasks; the others only their own and unowned ones."""
    return actor.role in ALL_TASKS


def _owner_of(record: Any) -> int | None:
    if isinstance(record, int):
        return record
    value = record.get("owner_id") if isinstance(record, Mapping) else record.owner_id
    return int(value) if value is not None else None


def _own(actor: Actor, record: Any) -> bool:
    return actor.role in ALL_TASKS or _owner_of(record) in (None, actor.user_id)


def _gives_to_self(actor: Actor, owner_id: Any) -> bool:
    return actor.role in ALL_TASKS or owner_id in (None, actor.user_id)


VIEW = permission(
    "activities.view",
    {*OWNERS, INTEGRATION, SYSTEM},
    "Your role has no tasks",
    record_rule=_own,
    record_denied="This is someone else's task",
)
MANAGE = permission(
    "activities.manage",
    {*OWNERS, INTEGRATION, SYSTEM},
    "Your role cannot plan or change tasks",
    record_rule=_own,
    record_denied="You can change only your own tasks",
)
ASSIGN = permission(
    "activities.assign",
    {*OWNERS, INTEGRATION, SYSTEM},
    "Your role cannot give tasks",
    record_rule=_gives_to_self,
    record_denied="Only admins and managers give tasks to someone else",
)
TEAM = permission("activities.team", {"admin", "manager", INTEGRATION}, "Only admins and managers see the team's queue")


def starts_on_my_day(actor: Actor) -> bool:
    """Agents start on My day (their tasks and call queue); the others on the dashboard, My day one click away."""
    return actor.role == "agent"
