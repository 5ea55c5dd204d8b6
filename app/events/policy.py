"""Who sees which live events of this domain: a notification's event only by the person it is for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.policy import USER_ROLES, Actor, permission


def _theirs(actor: Actor, record: Any) -> bool:
    return isinstance(record, Mapping) and actor.user_id is not None and record.get("user_id") == actor.user_id


OWN_NOTIFICATIONS = permission(
    "notifications.own", USER_ROLES, "Only people get notifications", record_rule=_theirs, record_denied="Someone else's notification"
)
