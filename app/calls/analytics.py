"""Call analytics (NeuraCRM §5.3): totals, waits, talk, service level, agent utilization and a block per queue, over
the calls that started in a range of the workspace's days. One aggregate query per answer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
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

# One pass over the range's calls (an index-only scan of `call_tenant_started_analytics`), summed per queue, period
# and agent by a hash aggregate; the totals, the queues' blocks and the periods are added up from these rows.
_CELLS = """
SELECT coalesce(nullif(queue, ''), '{no_queue}') AS queue, date_trunc('{unit}', started_at AT TIME ZONE $5)::date AS period, agent_id,
       count(*) AS calls, count(answered_at) AS answered, count(*) FILTER (WHERE status = 'abandoned') AS abandoned,
       coalesce(sum(extract(epoch FROM answered_at - started_at)), 0)::float8 AS wait,
       count(*) FILTER (WHERE answered_at - started_at <= $4 * interval '1 second') AS within,
       coalesce(sum(extract(epoch FROM ended_at - answered_at)), 0)::float8 AS talk, count(ended_at - answered_at) AS talked
  FROM call WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3
 GROUP BY 1, 2, 3"""


@dataclass
class _Sums:
    calls: int = 0
    answered: int = 0
    abandoned: int = 0
    wait: float = 0.0
    within: int = 0
    talk: float = 0.0
    talked: int = 0

    def add(self, row: dict[str, Any]) -> None:
        for name in ("calls", "answered", "abandoned", "wait", "within", "talk", "talked"):
            setattr(self, name, getattr(self, name) + row[name])


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
        # Planned for this range (a generic plan would not know a day from a year).
        await fetch("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
        cells = await fetch(
            _CELLS.format(no_queue=NO_QUEUE, unit=_TRUNC[period_type]), scope.tenant_id, start, end, service_level_seconds, str(zone)
        )
    total = _Sums()
    queues: defaultdict[str, _Sums] = defaultdict(_Sums)
    periods: defaultdict[date, _Sums] = defaultdict(_Sums)
    agents: set[int] = set()
    for cell in cells:
        total.add(cell)
        queues[cell["queue"]].add(cell)
        periods[cell["period"]].add(cell)
        if cell["agent_id"] is not None:
            agents.add(cell["agent_id"])
    working = business_time(setup.calendar, start, end).total_seconds()
    return schemas.CallAnalytics(
        total_calls=total.calls,
        answered_calls=total.answered,
        abandoned_calls=total.abandoned,
        average_wait_time=round(total.wait / total.answered) if total.answered else 0,
        average_talk_time=round(total.talk / total.talked) if total.talked else 0,
        service_level=_ratio(total.within, total.calls),
        agent_utilization=_ratio(total.talk, working * len(agents)),
        queue_performance={
            name: schemas.QueueStats(
                calls=q.calls,
                answered=q.answered,
                avg_wait=round(q.wait / q.answered) if q.answered else 0,
                service_level=_ratio(q.within, q.calls),
            )
            for name, q in sorted(queues.items())
        },
        period_type=period_type,
        start_date=first.isoformat(),
        end_date=last.isoformat(),
        service_level_seconds=service_level_seconds,
        periods=[
            schemas.PeriodStats(period_start=day.isoformat(), calls=p.calls, answered=p.answered, abandoned=p.abandoned)
            for day, p in sorted(periods.items())
        ],
    )
