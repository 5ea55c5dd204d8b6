"""Answers of the sales forecast and the customer segments (NeuraCRM guide §4.4)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from app.core.schemas import Amount, ResponseBody

Trend = Literal["increasing", "decreasing", "stable"]
Method = Literal["holt_winters", "holt", "mean", "none"]


class ForecastMonth(ResponseBody):
    """One future month: the forecast of won revenue with its 80 % interval, its direction, its seasonal index, and
    the open pipeline expected to close in it (value times win probability)."""

    period: str
    predicted_revenue: Amount
    confidence_lower: Amount
    confidence_upper: Amount
    trend: Trend
    seasonality_factor: float
    weighted_pipeline: Amount
    pipeline_deals: int


class HistoryMonth(ResponseBody):
    """One past month: the value of the deals won in it and how many."""

    period: str
    revenue: Amount
    deals_won: int


class AccuracyMetrics(ResponseBody):
    """Rolling back-test errors: MAE and RMSE in the currency, MAPE as a fraction (0.08 is 8 %); `points`
    forecasts scored from `origins` starting months (0: too little history to test)."""

    mae: Amount
    rmse: Amount
    mape: float
    points: int
    origins: int


class BaselineMetrics(ResponseBody):
    """The naive forecast (the last month repeated) scored on the same back-test points."""

    method: str
    mae: Amount
    rmse: Amount
    mape: float


class Forecast(ResponseBody):
    """§4.4's forecast, with what it is based on: the method, the history, the currency and whose deals it counts."""

    forecast: list[ForecastMonth]
    accuracy_metrics: AccuracyMetrics
    baseline_metrics: BaselineMetrics
    insights: list[str]
    method: Method
    method_description: str
    confidence_level: float
    currency: str
    other_currencies: list[str]
    scope: Literal["team", "own"]
    history: list[HistoryMonth]
    weighted_pipeline_total: Amount
    generated_at: datetime


class ForecastResponse(ResponseBody):
    """`GET /v2/forecasting-models` as the NeuraCRM guide's §4.4 answers it."""

    success: bool
    data: Forecast


class Segment(ResponseBody):
    """A rule-based segment of the leads: its rule in words, how many leads match, the value of their won deals, the
    share of them won, and what the figures say and suggest."""

    id: int
    key: str
    name: str
    description: str
    customer_count: int
    total_deal_value: Amount
    open_deal_value: Amount
    conversion_rate: float
    insights: list[str]
    recommendations: list[str]


class SegmentsResponse(ResponseBody):
    """`GET /v2/customer-segments` as the NeuraCRM guide's §4.4 answers it (plus the currency of the values)."""

    success: bool
    data: list[Segment]
    currency: str
    scope: Literal["team", "own"]
    as_of: datetime  # when the figures were counted: now, or a large tenant's last refresh
    refreshed_every_minutes: int | None = None  # a large tenant's team figures: counted by a cron job this often
