"""Forecasting: the sales forecast with its back-test, and the customer segments (API and screens)."""

from __future__ import annotations

from saq import CronJob

from app.domains import Domain
from app.forecasting.api import ForecastController, SegmentsController
from app.forecasting.segments import REFRESH_MINUTES, refresh_all_segments, refresh_segments
from app.forecasting.views import ForecastPagesController

DOMAIN = Domain(
    name="forecasting",
    controllers=[ForecastController, SegmentsController, ForecastPagesController],
    jobs=[refresh_segments, refresh_all_segments],
    cron=[
        CronJob(
            refresh_all_segments.function,
            cron=f"*/{REFRESH_MINUTES} * * * *",
            timeout=refresh_all_segments.timeout,
            retries=refresh_all_segments.retries,
        )
    ],
)
