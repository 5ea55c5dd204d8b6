"""Call analytics (NeuraCRM §5.3): totals, waits, talk, service level, agent utilization and a block per queue, over
the calls that started in a range of the workspace's days. One aggregate query per answer."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from app.calls import policy, schemas
from app.core.errors import ValidationFailed
from app.db import TenantScope, fetch, tenant_transaction
from app.support.service import sla_setup
from app.support.sla import business_time

DEFAULT_SERVICE_LEVEL_SECONDS = 20
NO_QUEUE = "no_queue"
_TRUNC = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter"}

_TOTALS = """
SELECT count(*) AS total,
       count(answered_at) AS answered,
       count(*) FILTER (WHERE status = 'abandoned') AS abandoned,
       coalesce(avg(extract(epoch FROM answered_at - started_at)) FILTER (WHERE answered_at IS NOT NULL), 0) AS avg_wait,
       coalesce(avg(extract(epoch FROM ended_at - answered_at)) FILTER (WHERE answered_at IS NOT NULL AND ended_at IS NOT NULL), 0)
         AS avg_talk,
       count(*) FILTER (WHERE answered_at IS NOT NULL AND answered_at - started_at <= $4 * interval '1 second') AS within,
       coalesce(sum(extract(epoch FROM ended_at - answered_at)) FILTER (WHERE answered_at IS NOT NULL AND ended_at IS NOT NULL), 0)
         AS talk,
       count(DISTINCT agent_id) AS agents
  FROM call WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3"""
_QUEUES = """
SELECT coalesce(nullif(queue, ''), '{no_queue}') AS queue, count(*) AS calls, count(answered_at) AS answered,
       coalesce(avg(extract(epoch FROM answered_at - started_at)) FILTER (WHERE answered_at IS NOT NULL), 0) AS avg_wait,
       count(*) FILTER (WHERE answered_at IS NOT NULL AND answered_at - started_at <= $4 * interval '1 second') AS within
  FROM call WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3
 GROUP BY 1 ORDER BY 1 LIMIT 200"""
_PERIODS = """
SELECT date_trunc('{unit}', started_at AT TIME ZONE $4)::date AS period_start, count(*) AS calls, count(answered_at) AS answered,
       count(*) FILTER (WHERE status = 'abandoned') AS abandoned
  FROM call WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3
 GROUP BY 1 ORDER BY 1 LIMIT 400"""


def default_range(period_type: str, today: date) -> tuple[date, date]:
    """The current day, week (Monday to Sunday), month or quarter."""
    if period_type == "daily":
        return today, today
    if period_type == "weekly":
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=6)
    quarter_month = 3 * ((today.month - 1) // 3) + 1
    start = today.replace(day=1) if period_type == "monthly" else today.replace(month=quarter_month, day=1)
    months = 1 if period_type == "monthly" else 3
    following = date(start.year + (start.month - 1 + months) // 12, (start.month - 1 + months) % 12 + 1, 1)
    return start, following - timedelta(days=1)


def _ratio(part: float, whole: float) -> float:
    return round(part / whole, 2) if whole else 0.0


async def call_analytics(
    scope: TenantScope,
    period_type: str = "daily",
    start_date: date | None = None,
    end_date: date | None = None,
    service_level_seconds: int = DEFAULT_SERVICE_LEVEL_SECONDS,
) -> schemas.CallAnalytics:
    """§5.3 over the calls started from `start_date` to `end_date` (inclusive, the workspace's days; by default the
    current period of `period_type`). Averages are whole seconds; ratios have two decimals. Agent utilization is the
    talk time of the agents who took calls over their business hours in the range (the support desk's calendar)."""
    policy.ANALYTICS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        setup = await sla_setup(scope)
        zone = setup.calendar.zone
        today = datetime.now(zone).date()
        default_start, default_end = default_range(period_type, today)
        first, last = start_date or default_start, end_date or default_end
        if last < first:
            raise ValidationFailed(
                "Invalid end_date: before start_date",
                details={"field": "end_date", "provided": last.isoformat(), "expected": "on or after start_date", "reason": "range"},
                human="End the range after it starts",
            )
        if (last - first).days > 3 * 366:
            raise ValidationFailed(
                "Invalid end_date: a range of at most three years",
                details={
                    "field": "end_date",
                    "provided": last.isoformat(),
                    "expected": "within three years of start_date",
                    "reason": "range",
                },
            )
        start = datetime.combine(first, time(), tzinfo=zone)
        end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone)
        args: list[Any] = [scope.tenant_id, start, end, service_level_seconds]
        totals = (await fetch(_TOTALS, *args))[0]
        queues = await fetch(_QUEUES.format(no_queue=NO_QUEUE), *args)
        periods = await fetch(_PERIODS.format(unit=_TRUNC[period_type]), scope.tenant_id, start, end, str(zone))
    working = business_time(setup.calendar, start, end).total_seconds()
    return schemas.CallAnalytics(
        total_calls=totals["total"],
        answered_calls=totals["answered"],
        abandoned_calls=totals["abandoned"],
        average_wait_time=round(float(totals["avg_wait"])),
        average_talk_time=round(float(totals["avg_talk"])),
        service_level=_ratio(totals["within"], totals["total"]),
        agent_utilization=_ratio(float(totals["talk"]), working * totals["agents"]),
        queue_performance={
            row["queue"]: schemas.QueueStats(
                calls=row["calls"],
                answered=row["answered"],
                avg_wait=round(float(row["avg_wait"])),
                service_level=_ratio(row["within"], row["calls"]),
            )
            for row in queues
        },
        period_type=period_type,
        start_date=first.isoformat(),
        end_date=last.isoformat(),
        service_level_seconds=service_level_seconds,
        periods=[
            schemas.PeriodStats(
                period_start=row["period_start"].isoformat(), calls=row["calls"], answered=row["answered"], abandoned=row["abandoned"]
            )
            for row in periods
        ],
    )
