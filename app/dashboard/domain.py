"""The dashboard's place in the app, and the placeholders of screens not built yet (a domain that
registers the same navigation key replaces its placeholder)."""

from __future__ import annotations

from app.dashboard.views import DashboardController
from app.domains import Domain, NavEntry

DOMAIN = Domain(
    name="dashboard",
    controllers=[DashboardController],
    nav=[
        NavEntry("dashboard", "Dashboard", "/", order=0),
        NavEntry(
            "tickets",
            "Tickets",
            "/tickets",
            order=50,
            placeholder="A support queue with priorities, SLAs, public replies and internal notes.",
        ),
        NavEntry("calls", "Calls", "/calls", order=60, placeholder="The call log with dispositions, transcripts and call analytics."),
        NavEntry(
            "invoices", "Invoices", "/invoices", order=70, placeholder="Invoices with line items, partial payments and PDF downloads."
        ),
    ],
)
