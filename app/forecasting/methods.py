"""The forecasting methods: pure functions of a monthly series (no database, no HTTP), run in a worker thread.

* **Holt-Winters** (additive errors, damped additive trend, additive 12-month seasonality: ETS(A,Ad,A)) from
  statsmodels' `ETSModel`, fitted by maximum likelihood, when there are at least 24 months of history (two seasons);
* **Holt's linear trend** (damped: ETS(A,Ad,N)) with 6 to 23 months;
* **the mean** of the months so far (a flat line, bounds from their spread) with fewer than 6.

Bounds are the model's 80 % prediction interval (the mean's: ±1.2816 standard deviations), never below zero.
Accuracy comes from a rolling-origin back-test on the same series: from each of the last (up to) 12 months, the
method the history up to then would have chosen forecasts 1 to 3 months ahead; MAE, RMSE and MAPE compare those
forecasts with what happened (MAPE over months with revenue), and the naive forecast (the last month repeated) is
scored on the same points as the baseline.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

SEASON = 12
HOLT_WINTERS_MIN = 2 * SEASON
HOLT_MIN = 6
CONFIDENCE = 0.8
Z_80 = 1.2816  # the standard normal's 90th percentile: a two-sided 80 % interval
BACKTEST_ORIGINS = 12
BACKTEST_HORIZON = 3

METHODS = {
    "holt_winters": "Holt-Winters exponential smoothing, ETS(A,Ad,A): damped trend and 12-month seasonality (statsmodels)",
    "holt": "Holt's linear trend exponential smoothing, ETS(A,Ad,N): damped trend, no seasonality (statsmodels)",
    "mean": "The average month so far (too little history for a trend)",
    "none": "No won deals yet: nothing to extrapolate",
}


@dataclass(frozen=True, slots=True)
class Fit:
    """A forecast: the method, and per future month its mean and its 80 % interval."""

    method: str
    mean: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Accuracy:
    """Back-test errors of a method; `points` forecasts were scored (0: too little history to test)."""

    mae: float
    rmse: float
    mape: float
    points: int


@dataclass(frozen=True, slots=True)
class Backtest:
    """The method's back-test and the naive last-value forecast's on the same points."""

    model: Accuracy
    naive: Accuracy
    origins: int


def method_for(length: int) -> str:
    """The method a series of `length` months gets."""
    if length >= HOLT_WINTERS_MIN:
        return "holt_winters"
    if length >= HOLT_MIN:
        return "holt"
    return "mean" if length else "none"


def _ets(series: tuple[float, ...], months: int, seasonal: bool) -> Fit:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel  # type: ignore[import-untyped]

    y = pd.Series(np.asarray(series, dtype=float))
    model = ETSModel(
        y, error="add", trend="add", damped_trend=True, seasonal="add" if seasonal else None, seasonal_periods=SEASON if seasonal else None
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter: the fit is still the best the optimiser found
        fitted = model.fit(disp=False)
        frame = fitted.get_prediction(start=len(series), end=len(series) + months - 1).summary_frame(alpha=1 - CONFIDENCE)
    mean = [max(0.0, float(v)) for v in frame["mean"]]
    lower = [max(0.0, float(v)) for v in frame["pi_lower"]]
    upper = [max(m, float(v)) for m, v in zip(mean, frame["pi_upper"], strict=True)]
    if not all(math.isfinite(v) for v in (*mean, *lower, *upper)):
        return _mean(series, months)
    return Fit("holt_winters" if seasonal else "holt", tuple(mean), tuple(lower), tuple(upper))


def _mean(series: tuple[float, ...], months: int) -> Fit:
    if not series:
        zeros = (0.0,) * months
        return Fit("none", zeros, zeros, zeros)
    average = float(np.mean(series))
    spread = float(np.std(series, ddof=1)) if len(series) > 1 else average / 2
    return Fit("mean", (average,) * months, (max(0.0, average - Z_80 * spread),) * months, (average + Z_80 * spread,) * months)


@lru_cache(maxsize=256)
def forecast(series: tuple[float, ...], months: int) -> Fit:
    """Forecast `months` months after the series with the method its length gets (cached: same inputs, same answer)."""
    method = method_for(len(series))
    if method in ("holt_winters", "holt"):
        try:
            return _ets(series, months, seasonal=method == "holt_winters")
        except (ValueError, np.linalg.LinAlgError):
            return _mean(series, months)
    return _mean(series, months)


def _accuracy(errors: list[float], actuals: list[float]) -> Accuracy:
    if not errors:
        return Accuracy(0.0, 0.0, 0.0, 0)
    absolute = np.abs(np.asarray(errors))
    ratios = [abs(e) / a for e, a in zip(errors, actuals, strict=True) if a > 0]
    return Accuracy(
        mae=float(absolute.mean()),
        rmse=float(math.sqrt(float(np.mean(np.square(errors))))),
        mape=float(np.mean(ratios)) if ratios else 0.0,
        points=len(errors),
    )


@lru_cache(maxsize=256)
def backtest(series: tuple[float, ...]) -> Backtest:
    """Rolling-origin back-test: from each of the last (up to) 12 months that leave at least 3 months of history,
    forecast 1-3 months ahead with the method chosen then, and with the last value repeated."""
    first = max(3, len(series) - BACKTEST_ORIGINS)
    model_errors: list[float] = []
    naive_errors: list[float] = []
    actuals: list[float] = []
    origins = 0
    for origin in range(first, len(series)):
        history = series[:origin]
        ahead = series[origin : origin + BACKTEST_HORIZON]
        predicted = forecast(history, len(ahead)).mean
        origins += 1
        for actual, guess in zip(ahead, predicted, strict=True):
            model_errors.append(guess - actual)
            naive_errors.append(history[-1] - actual)
            actuals.append(actual)
    return Backtest(_accuracy(model_errors, actuals), _accuracy(naive_errors, actuals), origins)


def seasonal_indices(series: tuple[float, ...], first_month: int) -> dict[int, float]:
    """Classical seasonal index per calendar month (1-12): the month's average over the overall average, from full
    years of history only; 1.0 for every month when there are fewer than 24 months or no revenue."""
    if len(series) < HOLT_WINTERS_MIN or not any(series):
        return dict.fromkeys(range(1, 13), 1.0)
    overall = float(np.mean(series))
    by_month: dict[int, list[float]] = {m: [] for m in range(1, 13)}
    for n, value in enumerate(series):
        by_month[(first_month - 1 + n) % 12 + 1].append(value)
    return {m: round(float(np.mean(values)) / overall, 2) if values else 1.0 for m, values in by_month.items()}
