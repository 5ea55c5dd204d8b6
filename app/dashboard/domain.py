"""The dashboard's place in the app, and the placeholders of screens not built yet (a domain that
registers the same navigation key replaces its placeholder)."""

from __future__ import annotations

from app.dashboard.views import DashboardController
from app.domains import Domain, NavEntry

DOMAIN = Domain(
    name="dashboard",
    controllers=[DashboardController],
    nav=[
        NavEntry("dashboard", "Dashboard", "/dashboard", order=0),
        NavEntry("messages", "Messages", "/messages", order=65, placeholder="E-mail and SMS templates, memos and the replies to them."),
        NavEntry(
            "analytics", "Analytics", "/analytics", order=80, placeholder="The funnel, the agents' leaderboard, KPIs and the forecast."
        ),
    ],
)
