"""Who sees which figures: the one place the API guards, the services, the screen and its template read.

The people who sell and their managers read analytics, and finance (the revenue side), and read integrations.
Admins, managers, finance and integrations see the whole team's figures; an agent sees only their own (their
leads, their deals, the invoices of their deals). Support sees none.
"""

from __future__ import annotations

from app.core.policy import INTEGRATION, SYSTEM, Actor, permission

TEAM_READERS = frozenset({"admin", "manager", "finance", INTEGRATION, SYSTEM})

VIEW = permission("analytics.view", {*TEAM_READERS, "agent"}, "Your role cannot see analytics")
TEAM = permission("analytics.team", TEAM_READERS, "Agents see only their own figures")


def only_agent(actor: Actor) -> int | None:
    """Whose figures the caller sees: None for the whole team, else the agent's own user id."""
    return None if TEAM.allows(actor) else actor.user_id
