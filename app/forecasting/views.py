"""Screens: the sales forecast (chart, method, back-test, insights) and the customer segments."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Template

from app.db import TenantScope
from app.forecasting import methods, policy, segments, service
from app.web.auth import guard
from app.web.ui import render, targets

MONTH_CHOICES = (3, 6, 12, 18, 24)


class ForecastPagesController(Controller):
    """/analytics/forecast and /analytics/segments (the analytics dashboard's other screens live with it)."""

    path = "/analytics"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    @get("/forecast")
    async def forecast_page(
        self, request: Request[Any, Any, Any], tenant: TenantScope, months: Annotated[str, Parameter(max_length=3)] = "12"
    ) -> Template:
        """The forecast for the chosen number of months (kept in the URL)."""
        chosen = int(months) if months.isdigit() and 1 <= int(months) <= service.MAX_MONTHS else 12
        report = await service.forecast(tenant, chosen)
        block = "report" if targets(request, "forecast-report") else "content"
        return render(
            request,
            "forecasting/forecast.html",
            {
                "active": "analytics",
                "report": report,
                "months": chosen,
                "choices": sorted({*MONTH_CHOICES, chosen}),
                "thresholds": {"holt_winters": methods.HOLT_WINTERS_MIN, "holt": methods.HOLT_MIN},
            },
            block=block,
            push_url=f"/analytics/forecast?months={chosen}" if block == "report" else None,
        )

    @get("/segments")
    async def segments_page(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Every segment with its rule, figures, insights and recommendations."""
        answer = await segments.segments(tenant)
        return render(request, "forecasting/segments.html", {"active": "analytics", "answer": answer})
