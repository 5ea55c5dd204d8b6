"""Forecasting: the sales forecast with its back-test, and the customer segments (API and screens)."""

from __future__ import annotations

from app.domains import Domain
from app.forecasting.api import ForecastController, SegmentsController
from app.forecasting.views import ForecastPagesController

DOMAIN = Domain(name="forecasting", controllers=[ForecastController, SegmentsController, ForecastPagesController])
