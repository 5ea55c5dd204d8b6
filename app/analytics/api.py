"""JSON API: the funnel and the agents (ArtinSmartRealty §3.2), the dashboard, KPIs and attribution (EnterpriseHub
"Analytics & BI"). Every figure is the caller's to see: an agent's own, the whole team's for the others."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import Parameter

from app.analytics import policy, schemas, service
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.web.auth import guard

StartDate = Annotated[date | None, Parameter(description="Custom start day (ISO 8601 date, UTC), with end_date")]
EndDate = Annotated[date | None, Parameter(description="Custom end day, included (ISO 8601 date, UTC), with start_date")]
AgentSort = Literal[
    "closed_deals", "-closed_deals", "total_value", "-total_value", "average_deal_value", "-average_deal_value",
    "leads_assigned", "-leads_assigned", "conversion_rate", "-conversion_rate", "average_response_time",
    "-average_response_time", "performance_score", "-performance_score", "agent_name", "-agent_name",
]  # fmt: skip
METRICS_PATTERN = r"^( *(leads|revenue) *(, *(leads|revenue) *)*)?$"
Period = Annotated[
    Literal["7d", "30d", "90d", "365d"] | None,
    Parameter(description="Time period ending today (default 30d); ignored with start_date/end_date"),
]


class AnalyticsController(Controller):
    """Sales analytics (ArtinSmartRealty §3.2 and the EnterpriseHub dashboard)."""

    path = "/v2/analytics"
    opt = resource_opt("analytics")  # its scopes: analytics:read (analytics:write exists but nothing is written here)
    tags = ["Analytics"]

    @get("/funnel", operation_id="getFunnel", summary="Sales funnel", guards=[guard(policy.VIEW)])
    async def funnel(
        self, tenant: TenantScope, period: Period = None, start_date: StartDate = None, end_date: EndDate = None
    ) -> schemas.Funnel:
        """§3.2: the leads created in the period and how far they went, from each lead's recorded history (the first time
        it reached each status), not its current status: `started` → `qualified` → `phone_captured` →
        `viewing_scheduled` → `closed_won`, each counting the leads that passed it and every stage before it, with the
        percentage of those started and the drop-off from the previous stage; `conversion_rate` is closed_won of
        started (percent); `average_qualification_time_seconds` from creation to QUALIFIED. Agents see their own
        leads."""
        rng = service.resolve_range(period, start_date, end_date, allowed=service.FUNNEL_PERIODS, default="30d")
        return await service.funnel(tenant, rng)

    @get("/agents", operation_id="getAgentPerformance", summary="Agent performance", guards=[guard(policy.VIEW)])
    async def agents(
        self,
        tenant: TenantScope,
        period: Period = None,
        start_date: StartDate = None,
        end_date: EndDate = None,
        sort: Annotated[AgentSort | None, Parameter(description="A field; `-` first for descending (default -closed_deals)")] = None,
    ) -> schemas.AgentsReport:
        """§3.2: per agent, deals won in the period (their number, total and average value in the workspace's currency:
        the `_aed` fields are named as in the reference, `currency` says which), the leads assigned to them created in
        the period, `conversion_rate` (of those, the share that reached WON, percent), the average time to a lead's
        first status change, and `performance_score` (`score_formula`). Agents get their own row."""
        rng = service.resolve_range(period, start_date, end_date, allowed=service.FUNNEL_PERIODS, default="30d")
        return await service.agents(tenant, rng, sort)

    @get("/dashboard", operation_id="getAnalyticsDashboard", summary="Analytics dashboard", guards=[guard(policy.VIEW)])
    async def dashboard(
        self,
        tenant: TenantScope,
        period: Annotated[
            Literal["today", "week", "month", "quarter"] | None,
            Parameter(description="today, or the last 7 (week), 30 (month) or 90 (quarter) days (default month)"),
        ] = None,
        start_date: StartDate = None,
        end_date: EndDate = None,
        metrics: Annotated[
            str, Parameter(max_length=200, pattern=METRICS_PATTERN, description="Comma-separated: leads, revenue (default both)")
        ] = "",
    ) -> schemas.Dashboard:
        """EnterpriseHub: `leads` (created in the period, qualified, `conversion_rate` as a fraction of 1) and `revenue`
        (`attributed`: the P&L's revenue of the period's invoices for deals that came from a lead; `invoiced`: the P&L's
        revenue of all of them; `pipeline`: open deals' value now). Atrium has no bot, so there is no
        `bot_performance`."""
        rng = service.resolve_range(period, start_date, end_date, allowed=service.DASHBOARD_PERIODS, default="month")
        return await service.dashboard(tenant, rng, service.parse_metrics(metrics))


class KpiController(Controller):
    """Business-intelligence KPIs (EnterpriseHub)."""

    path = "/v2/business-intelligence"
    opt = resource_opt("analytics")
    tags = ["Analytics"]

    @get("/kpis", operation_id="getKpis", summary="Business-intelligence KPIs", guards=[guard(policy.VIEW)])
    async def kpis(
        self, tenant: TenantScope, period: Period = None, start_date: StartDate = None, end_date: EndDate = None
    ) -> schemas.KpiReport:
        """Each key figure of the period beside the previous period of the same length, its change in percent and its
        definition: new leads, qualified and won shares, deals won and their value, revenue (the P&L's) and revenue
        from leads, the open pipeline, first-response and qualification times."""
        rng = service.resolve_range(period, start_date, end_date, allowed=service.FUNNEL_PERIODS, default="30d")
        return await service.kpis(tenant, rng)


class AttributionController(Controller):
    """Revenue attribution (EnterpriseHub)."""

    path = "/v2/attribution-reports"
    opt = resource_opt("analytics")
    tags = ["Analytics"]

    @get("/", operation_id="getAttributionReport", summary="Revenue attribution report", guards=[guard(policy.VIEW)])
    async def attribution(
        self, tenant: TenantScope, period: Period = None, start_date: StartDate = None, end_date: EndDate = None
    ) -> schemas.AttributionReport:
        """By the leads' `source` and by campaign (the lead's campaign, else its `custom_fields.utm_campaign`): the
        period's leads and how many were won, the deals won in the period and their value, and the P&L's revenue of
        the period's invoices for those leads' deals. `(no lead)` collects deals without a lead."""
        rng = service.resolve_range(period, start_date, end_date, allowed=service.FUNNEL_PERIODS, default="30d")
        return await service.attribution(tenant, rng)
