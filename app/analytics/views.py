"""The analytics dashboard: KPI tiles and charts drawn as SVG by the templates, a date range kept in the URL, and the
same figures as PDF and Excel."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from litestar.response import Template

from app.accounts import service as accounts
from app.analytics import export, policy, service
from app.core.errors import ValidationFailed
from app.db import TenantScope
from app.forecasting import policy as forecasting_policy
from app.forecasting import service as forecasting
from app.web.auth import guard
from app.web.ui import download, render, targets

PRESETS = ("7d", "30d", "90d", "365d")
Text = Annotated[str, Parameter(max_length=40)]


def _state(period: str, start_date: str, end_date: str, sort: str) -> dict[str, str]:
    """The range the URL asks for: a preset, or `custom` with its two days."""
    custom = period == "custom" or (not period and bool(start_date or end_date))
    state = {"period": "custom", "start_date": start_date, "end_date": end_date} if custom else {"period": period or "30d"}
    if sort:
        state["sort"] = sort
    return state


async def _overview(tenant: TenantScope, state: dict[str, str]) -> tuple[service.Overview, str]:
    """The figures of the state's range; a bad range is said in words and the last 30 days are shown instead."""
    sort = state.get("sort") or None
    try:
        if state["period"] == "custom":
            first, last = service.day_of("start_date", state["start_date"]), service.day_of("end_date", state["end_date"])
            rng = service.resolve_range(None, first, last, allowed=PRESETS, default="30d")
        else:
            rng = service.resolve_range(state["period"], None, None, allowed=PRESETS, default="30d")
        return await service.overview(tenant, rng, sort), ""
    except ValidationFailed as exc:
        rng = service.resolve_range("30d", None, None, allowed=PRESETS, default="30d")
        return await service.overview(tenant, rng, None), f"{exc.human}. The last 30 days are shown instead."


class AnalyticsPagesController(Controller):
    """The analytics dashboard."""

    path = "/analytics"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        period: Text = "",
        start_date: Text = "",
        end_date: Text = "",
        sort: Text = "",
    ) -> Template:
        """KPIs, funnel, leaderboard, revenue, pipeline and sources of the range in the URL (an agent's own figures)."""
        state = _state(period, start_date, end_date, sort)
        overview, error = await _overview(tenant, state)
        if error and state["period"] != "custom":
            state = {"period": "30d"}  # an unknown preset: the picker shows what is shown
        if not error and state["period"] == "custom":
            state |= {"start_date": overview.range.first_day.isoformat(), "end_date": overview.range.last_day.isoformat()}
        query = urlencode(state)
        org = await accounts.get_tenant(tenant)
        ctx = {
            "active": "analytics",
            "state": state,
            "query": query,
            "error": error,
            "presets": PRESETS,
            **export.context(overview, org.name),
        }
        block = "report" if targets(request, "analytics-report") else "content"
        return render(
            request,
            "analytics/index.html",
            ctx,
            block=block,
            status_code=422 if error else 200,
            push_url=f"/analytics?{query}" if block == "report" else None,
        )

    @get("/export.pdf")
    async def export_pdf(
        self, tenant: TenantScope, period: Text = "", start_date: Text = "", end_date: Text = "", sort: Text = ""
    ) -> Response[bytes]:
        """The dashboard of the range as a PDF."""
        overview, _ = await _overview(tenant, _state(period, start_date, end_date, sort))
        org = await accounts.get_tenant(tenant)
        forecast = await forecasting.forecast(tenant) if forecasting_policy.VIEW.allows(tenant) else None
        content = await export.to_pdf(overview, org.name, forecast)
        await service.record_export(tenant, overview, "pdf")
        return download(content, export.filename(overview, "pdf"), "application/pdf")

    @get("/forecast-card")
    async def forecast_card(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """The dashboard's revenue forecast card (the next twelve months), loaded after the page."""
        forecasting_policy.VIEW.require(tenant)
        return render(request, "analytics/index.html", {"forecast": await forecasting.forecast(tenant)}, block="forecast_card")

    @get("/export.xlsx")
    async def export_xlsx(
        self, tenant: TenantScope, period: Text = "", start_date: Text = "", end_date: Text = "", sort: Text = ""
    ) -> Response[bytes]:
        """The dashboard of the range as an Excel workbook."""
        overview, _ = await _overview(tenant, _state(period, start_date, end_date, sort))
        content = export.to_xlsx(overview)
        await service.record_export(tenant, overview, "xlsx")
        return download(content, export.filename(overview, "xlsx"), export.XLSX)
