"""Who sees the forecast and the customer segments: the one place the API guards, the services, the screens and the
templates read.

Admins, managers and finance (and read integrations) see the whole team's figures; agents see the forecast and the
segments of their own deals and leads only; support staff see neither.
"""

from __future__ import annotations

from app.core.policy import INTEGRATION, SYSTEM, Actor, permission

TEAM_WIDE = frozenset({"admin", "manager", "finance", INTEGRATION, SYSTEM})

VIEW = permission("forecasting.view", {*TEAM_WIDE, "agent"}, "Your role cannot see the sales forecast or the customer segments")
TEAM = permission("forecasting.team", TEAM_WIDE, "Only admins, managers and finance see the whole team's forecast")


def own_only(actor: Actor) -> int | None:
    """The user whose deals and leads alone the figures count (an agent's own), or None for the whole team."""
    if TEAM.allows(actor):
        return None
    return actor.user_id if actor.user_id is not None else 0  # no user: nobody's figures (ids start at 1)
