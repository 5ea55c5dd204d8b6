"""JSON API: the sales forecast and the customer segments (NeuraCRM guide §4.4)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from app.core.scopes import resource_opt
from app.db import TenantScope
from app.forecasting import policy, schemas, segments, service
from app.web.auth import guard


class ForecastController(Controller):
    """Monthly won-revenue forecast with the weighted pipeline, bounds, back-test accuracy and insights."""

    path = "/v2/forecasting-models"
    opt = resource_opt("forecasting")
    tags = ["Forecasting"]

    @get("/", operation_id="getSalesForecast", summary="Forecast won revenue month by month", guards=[guard(policy.VIEW)])
    async def get_forecast(
        self,
        tenant: TenantScope,
        months: Annotated[int, Parameter(ge=1, le=service.MAX_MONTHS, description="Months to forecast, this one first")] = 12,
    ) -> schemas.ForecastResponse:
        """Holt-Winters (24+ months of won deals), Holt's trend (6-23) or the average (fewer) over the value of deals
        won per month, an 80 % interval, the open pipeline weighted by win probability per expected close month, and
        MAE/RMSE/MAPE from a rolling back-test next to the naive last-value forecast's. Managers, admins and finance
        see the team's deals, agents their own. Method and formulas: docs/forecasting.md."""
        return schemas.ForecastResponse(success=True, data=await service.forecast(tenant, months))


class SegmentsController(Controller):
    """Rule-based customer segments."""

    path = "/v2/customer-segments"
    opt = resource_opt("forecasting")
    tags = ["Forecasting"]

    @get("/", operation_id="getCustomerSegments", summary="Customer segments by documented rules", guards=[guard(policy.VIEW)])
    async def get_segments(self, tenant: TenantScope) -> schemas.SegmentsResponse:
        """Each segment's rule, lead count, won and open deal value, conversion rate, insights and recommendations;
        the rules are in docs/forecasting.md. Agents see their own leads and deals."""
        return await segments.segments(tenant)
