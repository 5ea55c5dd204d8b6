"""The sales forecast (NeuraCRM guide §4.4): won revenue month by month, extrapolated with a stated method, plus the
open pipeline weighted by its win probability; see docs/forecasting.md.

Revenue here is the value of the deals won, by the month they were won in the workspace's time zone. The P&L's
revenue is what was invoiced (an agency invoices its commission, not the price of the property), so the two are
different figures; they are counted the same way: in the workspace's currency (billing settings), other currencies
converted at the workspace's exchange rate in force on the day (the rates the P&L converts with), those without a rate
left out and named, summed exactly in PostgreSQL's numeric.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from anyio import CapacityLimiter, to_thread

from app.billing.service import read_settings
from app.core.errors import ValidationFailed
from app.db import TenantScope, fetch, tenant_transaction
from app.forecasting import methods, policy, schemas

MAX_MONTHS = 24
# At most this many months of history are fitted (older wins say little about next year's).
HISTORY_MONTHS = 60
# Fitting is CPU work: at most two fits at once, off the event loop.
FITS = CapacityLimiter(2)
CENT = Decimal("0.01")
ZONE = "(SELECT time_zone FROM tenant WHERE id = $1)"
# SQL: what one unit of a deal's currency is worth in the workspace's ($2): 1 in it, else the rate in force on `day`.
RATE = """CASE WHEN d.currency = $2 THEN 1::numeric ELSE
            (SELECT x.rate FROM exchange_rate x WHERE x.tenant_id = $1 AND x.currency = d.currency AND x.effective_on <= {day}
              ORDER BY x.effective_on DESC LIMIT 1) END"""
WON_DAY = f"(d.closed_at AT TIME ZONE {ZONE})::date"


def month_label(day: date) -> str:
    return f"{day:%Y-%m}"


def add_months(day: date, months: int) -> date:
    counted = day.year * 12 + day.month - 1 + months
    return date(counted // 12, counted % 12 + 1, 1)


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT) if not isinstance(value, Decimal) else value.quantize(CENT)


async def forecast(scope: TenantScope, months: int = 12) -> schemas.Forecast:
    """The forecast of the next `months` months (this one first) for the team, or for an agent their own deals."""
    policy.VIEW.require(scope)
    if not 1 <= months <= MAX_MONTHS:
        raise ValidationFailed(
            f"Invalid months: from 1 to {MAX_MONTHS}",
            details={"field": "months", "provided": months, "expected": f"an integer from 1 to {MAX_MONTHS}"},
            human=f"Choose from 1 to {MAX_MONTHS} months",
        )
    owner = policy.own_only(scope)
    async with tenant_transaction(scope.tenant_id):
        currency = (await read_settings(scope)).currency
        this_month = (await fetch(f"SELECT date_trunc('month', now() AT TIME ZONE {ZONE})::date AS m", scope.tenant_id))[0]["m"]
        since = add_months(this_month, -HISTORY_MONTHS)
        won = await fetch(
            f"""SELECT date_trunc('month', {WON_DAY})::date AS month, d.currency, sum(round(d.value * r.rate, 2)) AS revenue,
                       count(r.rate) AS deals, count(*) - count(r.rate) AS unrated
                  FROM deal d CROSS JOIN LATERAL (SELECT {RATE.format(day=WON_DAY)} AS rate) r
                 WHERE d.tenant_id = $1 AND d.status = 'won' AND d.closed_at IS NOT NULL
                   AND d.closed_at >= ($3::date::timestamp AT TIME ZONE {ZONE}) AND d.closed_at < ($4::date::timestamp AT TIME ZONE {ZONE})
                   AND ($5::bigint IS NULL OR d.owner_id = $5)
                 GROUP BY 1, 2""",
            scope.tenant_id,
            currency,
            since,
            this_month,
            owner,
        )
        # The open pipeline by the month each deal is expected to close: its expected close date, else its creation
        # plus the median time the tenant's won deals took; a date already past counts for this month.
        pipeline = await fetch(
            f"""WITH cycle AS (
                    SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - created_at)), 30 * 86400)
                           * interval '1 second' AS median
                      FROM deal WHERE tenant_id = $1 AND status = 'won' AND closed_at IS NOT NULL
                       AND closed_at >= now() - interval '2 years')
                SELECT greatest($3::date, date_trunc('month', coalesce(d.expected_close_date,
                                  ((d.created_at + (SELECT median FROM cycle)) AT TIME ZONE {ZONE})::date))::date) AS month,
                       d.currency, sum(round(d.value * r.rate * coalesce(d.probability, s.probability) / 100.0, 2)) AS weighted,
                       count(r.rate) AS deals, count(*) - count(r.rate) AS unrated
                  FROM deal d JOIN stage s ON s.id = d.stage_id
                       CROSS JOIN LATERAL (SELECT {RATE.format(day="current_date")} AS rate) r
                 WHERE d.tenant_id = $1 AND d.status = 'open' AND ($4::bigint IS NULL OR d.owner_id = $4)
                 GROUP BY 1, 2""",
            scope.tenant_id,
            currency,
            this_month,
            owner,
        )
    unrated = sorted({row["currency"] for row in (*won, *pipeline) if row["unrated"]})
    won, pipeline = _by_month(won, "revenue"), _by_month(pipeline, "weighted")
    history = _history(won, this_month)
    series = tuple(float(h.revenue) for h in history)
    fit, test = await to_thread.run_sync(_compute, series, months, limiter=FITS)
    weighted = {row["month"]: row for row in pipeline}
    first_month = int(history[0].period[5:]) if history else this_month.month
    indices = methods.seasonal_indices(series, first_month)
    forecast_months: list[schemas.ForecastMonth] = []
    previous = series[-1] if series else 0.0
    for n in range(months):
        month = add_months(this_month, n)
        mean = fit.mean[n]
        change = (mean - previous) / previous if previous else 0.0
        row = weighted.get(month)
        forecast_months.append(
            schemas.ForecastMonth(
                period=month_label(month),
                predicted_revenue=money(mean),
                confidence_lower=money(fit.lower[n]),
                confidence_upper=money(fit.upper[n]),
                trend="increasing" if change > 0.02 else "decreasing" if change < -0.02 else "stable",
                seasonality_factor=indices[month.month] if fit.method == "holt_winters" else 1.0,
                weighted_pipeline=money(row["weighted"] or 0) if row else Decimal("0.00"),
                pipeline_deals=int(row["deals"]) if row else 0,
            )
        )
        previous = mean
    horizon_end = add_months(this_month, months)
    pipeline_total = sum((money(r["weighted"] or 0) for r in pipeline if r["month"] < horizon_end), Decimal("0.00"))
    accuracy = schemas.AccuracyMetrics(
        mae=money(test.model.mae),
        rmse=money(test.model.rmse),
        mape=round(test.model.mape, 4),
        points=test.model.points,
        origins=test.origins,
    )
    baseline = schemas.BaselineMetrics(
        method="naive_last_value", mae=money(test.naive.mae), rmse=money(test.naive.rmse), mape=round(test.naive.mape, 4)
    )
    return schemas.Forecast(
        forecast=forecast_months,
        accuracy_metrics=accuracy,
        baseline_metrics=baseline,
        insights=insights(history, forecast_months, fit.method, accuracy, baseline, currency),
        method=fit.method,  # type: ignore[arg-type]
        method_description=methods.METHODS[fit.method],
        confidence_level=methods.CONFIDENCE,
        currency=currency,
        other_currencies=unrated,
        scope="own" if policy.own_only(scope) is not None else "team",
        history=history,
        weighted_pipeline_total=pipeline_total,
        generated_at=datetime.now(UTC),
    )


def _by_month(rows: list[dict[str, Any]], amount: str) -> list[dict[str, Any]]:
    """Rows per (month, currency) summed per month (a currency without a rate adds nothing)."""
    months: dict[date, dict[str, Any]] = {}
    for row in rows:
        into = months.setdefault(row["month"], {"month": row["month"], amount: Decimal(0), "deals": 0})
        into[amount] += row[amount] or 0
        into["deals"] += row["deals"]
    return [months[m] for m in sorted(months)]


def _compute(series: tuple[float, ...], months: int) -> tuple[methods.Fit, methods.Backtest]:
    return methods.forecast(series, months), methods.backtest(series)


def _history(won: list[dict[str, object]], this_month: date) -> list[schemas.HistoryMonth]:
    """Every month from the first win to last month (months without a win count as 0)."""
    if not won:
        return []
    by_month = {row["month"]: row for row in won}
    first = min(by_month)  # type: ignore[type-var]
    history = []
    month: date = first  # type: ignore[assignment]
    while month < this_month:
        row = by_month.get(month)
        history.append(
            schemas.HistoryMonth(
                period=month_label(month),
                revenue=money(row["revenue"] or 0) if row else Decimal("0.00"),  # type: ignore[arg-type]
                deals_won=int(row["deals"]) if row else 0,  # type: ignore[call-overload]
            )
        )
        month = add_months(month, 1)
    return history


def _amount(value: Decimal | float, currency: str) -> str:
    return f"{currency} {float(value):,.0f}"


def insights(
    history: list[schemas.HistoryMonth],
    ahead: list[schemas.ForecastMonth],
    method: str,
    accuracy: schemas.AccuracyMetrics,
    baseline: schemas.BaselineMetrics,
    currency: str,
) -> list[str]:
    """Plain sentences, each read off the figures of this forecast."""
    said: list[str] = []
    if not history:
        return ["No deals have been won yet, so there is no history to forecast from; the weighted pipeline is all there is to go on."]
    months = len(ahead)
    predicted = sum(float(m.predicted_revenue) for m in ahead)
    if len(history) >= months:
        before = sum(float(h.revenue) for h in history[-months:])
        if before > 0:
            change = (predicted - before) / before
            word = "grow" if change > 0.02 else "fall" if change < -0.02 else "hold steady"
            amount = f" by {abs(change):.0%}" if word != "hold steady" else ""
            said.append(
                f"Won revenue is forecast to {word}{amount} over the next {months} months: {_amount(predicted, currency)} "
                f"against {_amount(before, currency)} in the last {months}."
            )
    if method == "holt_winters":
        peak = max(ahead, key=lambda m: m.seasonality_factor)
        low = min(ahead, key=lambda m: m.seasonality_factor)
        if peak.seasonality_factor >= 1.1:
            said.append(
                f"Seasonality: {peak.period} is usually a strong month ({peak.seasonality_factor:.2f} times the average month), "
                f"{low.period} a weak one ({low.seasonality_factor:.2f} times)."
            )
    elif method in ("holt", "mean"):
        said.append(
            f"Only {len(history)} months of won deals: a {'trend' if method == 'holt' else 'flat average'} is used; "
            f"seasonality is modelled from {methods.HOLT_WINTERS_MIN} months of history on."
        )
    pipeline = sum(float(m.weighted_pipeline) for m in ahead)
    if predicted > 0:
        said.append(
            f"The open pipeline weighted by win probability is worth {_amount(pipeline, currency)} over the period, "
            f"{pipeline / predicted:.0%} of the forecast."
        )
        near = ahead[: min(3, months)]
        short = [m.period for m in near if float(m.predicted_revenue) > 0 and float(m.weighted_pipeline) < 0.5 * float(m.predicted_revenue)]
        if short:
            said.append(
                f"Weighted pipeline covers less than half the forecast in {', '.join(short)}: add or advance deals expected to close then."
            )
    if accuracy.points:
        if accuracy.mape and baseline.mape:
            comparison = "better" if accuracy.mape < baseline.mape else "no better"
            said.append(
                f"In the back-test the forecasts were off by {accuracy.mape:.0%} on average (MAPE), {comparison} than repeating "
                f"last month's figure ({baseline.mape:.0%})."
            )
        else:
            said.append(f"In the back-test the forecasts were off by {_amount(accuracy.mae, currency)} a month on average (MAE).")
    else:
        said.append("Too little history for a back-test yet: the accuracy figures start after 4 months of won deals.")
    if any(math.isclose(float(m.confidence_lower), 0.0) for m in ahead[:3]) and predicted > 0:
        said.append("The lower bound reaches zero in the next months: the history is too uneven for a confident forecast.")
    return said
