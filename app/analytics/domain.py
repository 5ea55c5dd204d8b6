"""Analytics: API and screen. Its navigation entry replaces the dashboard domain's placeholder of the same key."""

from __future__ import annotations

from app.analytics.api import AnalyticsController, AttributionController, KpiController
from app.analytics.views import AnalyticsPagesController
from app.domains import Domain, NavEntry

DOMAIN = Domain(
    name="analytics",
    controllers=[AnalyticsController, KpiController, AttributionController, AnalyticsPagesController],
    nav=[NavEntry("analytics", "Analytics", "/analytics", order=80, permission="analytics.view")],
)
