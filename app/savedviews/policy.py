"""Who may do what with saved views: everyone saves their own; admins and managers share views with the team and
remove shared ones; a person removes their own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.policy import EVERYONE, Actor, permission

SHARERS = frozenset({"admin", "manager"})


def _removes(actor: Actor, view: Any) -> bool:
    owner = view.get("user_id") if isinstance(view, Mapping) else view.user_id
    shared = view.get("shared") if isinstance(view, Mapping) else view.shared
    return owner == actor.user_id or (bool(shared) and actor.role in SHARERS)


READ = permission("views.read", EVERYONE, "Your role cannot see saved views")
SAVE = permission("views.save", EVERYONE - {"integration"}, "Only people save views")
SHARE = permission("views.share", SHARERS, "Only admins and managers share views with the team")
REMOVE = permission(
    "views.remove",
    EVERYONE - {"integration"},
    "Only people remove views",
    record_rule=_removes,
    record_denied="This view is someone else's",
)
