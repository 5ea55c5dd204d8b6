"""Live events about tickets reach only the people who may see the ticket (the browser's stream filter)."""

from __future__ import annotations

from datetime import UTC, datetime


def test_live_ticket_events_reach_only_those_who_see_the_ticket() -> None:
    import json as jsonlib

    from app.db import TenantScope
    from app.events.live import everything, visible_to
    from app.events.stream import LiveEvent

    def event(subject: str, **data: object) -> LiveEvent:
        return LiveEvent(1, 1, f"{subject}.updated", subject, 5, jsonlib.dumps(data), datetime.now(UTC))

    mine = event("ticket", assigned_to=7, created_by=1)
    theirs = event("ticket", assigned_to=8, created_by=1)
    lead = event("lead", agent_id=8)
    support, agent, finance = (TenantScope(1, user_id=u, role=r) for u, r in ((2, "support"), (7, "agent"), (9, "finance")))
    assert [visible_to(support, everything)(e) for e in (mine, theirs, lead)] == [True, True, True]
    assert [visible_to(agent, everything)(e) for e in (mine, theirs, lead)] == [True, False, True]
    assert [visible_to(finance, everything)(e) for e in (mine, theirs, lead)] == [False, False, True]
