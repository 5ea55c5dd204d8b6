"""The figures of analytics: funnel, agents' leaderboard, dashboard, KPIs, attribution, and the charts' series.

Definitions (docs/analytics.md says the same):

* A period is whole UTC days, from `start_date` 00:00:00 to `end_date` 23:59:59. Its leads are the live leads
  created in it (the cohort); a lead's stages come from `lead_milestone`, the first time it reached each one, kept
  by triggers in the transaction of every change (and filled from the timelines' status entries when it was made),
  so a lead that was qualified and was lost later still counts as qualified.
* The funnel counts the leads that passed a stage and every stage before it: qualified (QUALIFIED or any later
  status), phone captured (and a phone on record), viewing scheduled (VIEWING_SCHEDULED, NEGOTIATING or WON), closed
  won (WON).
* Revenue is the P&L's (app.billing.reports): invoiced before tax, issued invoices (not drafts nor void) by issue
  date, credit notes taken off, in the workspace's currency. "Attributed" revenue is that of invoices for deals that
  came from a lead. Deal values (won value, pipeline) are the deals' own, in the workspace's currency; deals in
  other currencies are left out and named.
* Agents see only their own figures (their leads, their deals, their deals' invoices): `policy.only_agent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.analytics import policy, schemas
from app.billing.service import read_settings
from app.core.errors import ValidationFailed
from app.db import TenantScope, fetch, tenant_transaction
from app.events.service import Subject, audit

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
PRESETS = {"today": 1, "7d": 7, "week": 7, "30d": 30, "month": 30, "90d": 90, "quarter": 90, "365d": 365}
FUNNEL_PERIODS = ("7d", "30d", "90d", "365d")
DASHBOARD_PERIODS = ("today", "week", "month", "quarter")
MAX_DAYS = 3 * 366
SCORE_FORMULA = (
    "50 x min(conversion rate / 25 %, 1) + 30 x total won value / the team's highest total won value"
    " + 20 x max(0, 1 - average first-response time / 24 h), rounded (0 to 100)"
)
# The whole team's won deals or one agent's (a hundred thousand at most per tenant, an index on their closing day):
# one statement for both.
_OWNER = " AND ($4::bigint IS NULL OR d.owner_id = $4)"
_REVENUE = "CASE WHEN i.kind = 'credit_note' THEN -(i.subtotal - i.discount_amount) ELSE i.subtotal - i.discount_amount END"
# Whom an invoice's revenue counts for (its deal's owner, lead and lead's source; a credit note's: the corrected
# invoice's deal's) is kept on the invoice itself by triggers (`revenue_*`), and a deal's lead's source on the deal
# (`lead_source`): the period's invoices and won deals are each one index range, joined to nothing.
_ISSUED = "i.tenant_id = $1 AND i.status NOT IN ('draft', 'void') AND i.issue_date BETWEEN $2 AND $3 AND i.currency = $4"


@dataclass(frozen=True, slots=True)
class Range:
    """Whole UTC days: `start` is the first day's midnight, `end` the midnight after the last day (excluded)."""

    label: str
    start: datetime
    end: datetime

    @property
    def last_second(self) -> datetime:
        return self.end - timedelta(seconds=1)

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Range:
        """The period of the same length just before."""
        return Range(self.label, self.start - (self.end - self.start), self.start)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def day_of(field: str, raw: str) -> date | None:
    """An ISO 8601 date or date-time typed on the screen (its UTC day); None when blank."""
    text = raw.strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+", 1) if "T" in text else text)
        return (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    except ValueError:
        raise ValidationFailed(
            f"Invalid {field}: an ISO 8601 date like 2025-10-29",
            details={"field": field, "provided": raw, "expected": "an ISO 8601 date (2025-10-29) or date-time"},
            human="Enter dates like 2025-10-29",
        ) from None


def resolve_range(
    period: str | None, start_date: date | None, end_date: date | None, *, allowed: Sequence[str], default: str, today: date | None = None
) -> Range:
    """The period asked for: `start_date` and `end_date` (both, whole days, at most three years), else a preset."""
    today = today or datetime.now(UTC).date()
    if start_date or end_date:
        if not (start_date and end_date):
            missing = "end_date" if start_date else "start_date"
            raise ValidationFailed(
                f"Invalid {missing}: a custom period needs start_date and end_date",
                # `range`: a rule over two values together, which the schema states one by one.
                details={
                    "field": missing,
                    "provided": None,
                    "expected": "an ISO 8601 date, with the other end of the period",
                    "reason": "range",
                },
                human="Choose both a start and an end date",
            )
        first, last = start_date, end_date
        if last < first:
            raise ValidationFailed(
                "Invalid end_date: on or after start_date",
                details={"field": "end_date", "provided": last.isoformat(), "expected": "a date on or after start_date", "reason": "range"},
                human="The end date cannot be before the start date",
            )
        if (last - first).days >= MAX_DAYS or first.year < 1900 or last.year > 2999:
            raise ValidationFailed(
                f"Invalid start_date: a period of at most {MAX_DAYS} days, from 1900 to 2999",
                details={
                    "field": "start_date",
                    "provided": first.isoformat(),
                    "expected": f"at most {MAX_DAYS} days before end_date, from 1900 to 2999",
                    "reason": "range",
                },
                human="Choose a period of at most three years",
            )
        return Range("custom", _midnight(first), _midnight(last + timedelta(days=1)))
    name = period or default
    if name not in allowed:
        raise ValidationFailed(
            f"Invalid period: one of {', '.join(allowed)}",
            details={"field": "period", "provided": name, "expected": f"one of: {', '.join(allowed)}"},
            human="Choose one of the periods",
        )
    end = _midnight(today + timedelta(days=1))
    return Range(name, end - timedelta(days=PRESETS[name]), end)


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT, ROUND_HALF_UP)


def _pct(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _seconds(value: Any) -> int | None:
    return None if value is None else int(Decimal(value).quantize(Decimal(1), ROUND_HALF_UP))


async def _currency(scope: TenantScope) -> str:
    return (await read_settings(scope)).currency


# --------------------------------------------------------------------------- funnel


def _from_days(rng: Range) -> bool:
    """Whether `lead_day` alone gives the period's figures: its end is still ahead, so every stage reached so far was
    reached in it (`lead_day` counts the stages as they stand now)."""
    return rng.end > datetime.now(UTC)


_FIGURES = (
    "started",
    "qualified",
    "phone_captured",
    "viewing_scheduled",
    "closed_won",
    "won",
    "qualification_seconds",
    "responded",
    "response_seconds",
)
# A lead that took a step on a later UTC day than the one it came in (an index holds these alone): the only leads a
# period that has ended can have seen take a step after its end.
_LAST_STEP = "greatest(m.responded_at, m.qualified_at, m.phone_at, m.viewing_at, m.won_at)"
LATE = f"({_LAST_STEP} AT TIME ZONE 'UTC')::date > (m.started_at AT TIME ZONE 'UTC')::date"


def _after(end: str, *steps: str) -> str:
    """-1 for a lead that has taken every one of `steps` (the funnel's stages count those that passed each one
    before), the last of them at `end` or later: what `lead_day` counts and the period, ended at `end`, had not seen."""
    taken = " AND ".join(f"m.{step} IS NOT NULL" for step in steps)
    last = f"greatest({', '.join(f'm.{step}' for step in steps)})" if len(steps) > 1 else f"m.{steps[0]}"
    return f"CASE WHEN {taken} AND {last} >= {end} THEN -1 ELSE 0 END"


def _steps_after(end: str) -> str:
    """A late lead's steps from `end` on, taken off lead_day's figures (the columns of `_FIGURES`, in order)."""
    qualified, responded = _after(end, "qualified_at"), _after(end, "responded_at")
    return ", ".join(
        [
            "coalesce(m.agent_id, 0) AS agent_id, coalesce(m.source, '') AS source, 0 AS started",
            qualified,
            _after(end, "qualified_at", "phone_at"),
            _after(end, "qualified_at", "phone_at", "viewing_at"),
            _after(end, "qualified_at", "phone_at", "viewing_at", "won_at"),
            _after(end, "won_at"),
            f"({qualified}) * coalesce(extract(epoch FROM m.qualified_at - m.started_at), 0)",
            responded,
            f"({responded}) * coalesce(extract(epoch FROM m.responded_at - m.started_at), 0)",
        ]
    )


_DAY_SUMS = """coalesce(sum(d.started), 0)::bigint AS started, coalesce(sum(d.qualified), 0)::bigint AS qualified,
               coalesce(sum(d.phone_captured), 0)::bigint AS phone_captured,
               coalesce(sum(d.viewing_scheduled), 0)::bigint AS viewing_scheduled,
               coalesce(sum(d.closed_won), 0)::bigint AS closed_won, coalesce(sum(d.won), 0)::bigint AS won,
               sum(d.qualification_seconds) / nullif(sum(d.qualified), 0) AS qualification_seconds,
               sum(d.response_seconds) / nullif(sum(d.responded), 0) AS response_seconds"""


async def _day_sums(
    scope: TenantScope, rng: Range, agent: int | None, columns: str, group_by: str = "", *, assigned: bool = False
) -> list[dict[str, Any]]:
    """`columns` summed over the period's leads as they stood at its end, one row per `group_by` with any lead: an
    agent's own for an agent, else everyone's (only assigned ones with `assigned`). The one way the figures read the
    period's leads by agent and source. For a period whose end is ahead that is `lead_day`'s rows of its days (a few a
    day); for one that has ended, those less the steps its late leads took after its end."""
    args: list[Any] = [scope.tenant_id, rng.first_day, rng.last_day]
    rows = f"SELECT agent_id, source, {', '.join(_FIGURES)} FROM lead_day WHERE tenant_id = $1 AND day >= $2 AND day <= $3"
    if not _from_days(rng):
        args += [rng.start, rng.end]
        rows += f""" UNION ALL SELECT {_steps_after("$5")} FROM lead_milestone m
                      WHERE m.tenant_id = $1 AND m.started_at >= $4 AND m.started_at < $5 AND m.live AND {LATE}
                        AND {_LAST_STEP} >= $5"""
    where = ""
    if agent is not None:
        args.append(agent)
        where = f" WHERE d.agent_id = ${len(args)}"
    elif assigned:
        where = " WHERE d.agent_id <> 0"
    grouped = f" GROUP BY {group_by} HAVING sum(d.started) > 0" if group_by else ""
    return await fetch(f"SELECT {columns} FROM ({rows}) d{where}{grouped}", *args)


async def _cohort(scope: TenantScope, rng: Range, agent: int | None) -> dict[str, Any]:
    """The period's leads and how far they had gone by its end."""
    return (await _day_sums(scope, rng, agent, _DAY_SUMS))[0]


def _funnel_of(rng: Range, row: dict[str, Any]) -> schemas.Funnel:
    steps: list[schemas.FunnelStep] = []
    started = int(row["started"])
    previous = started
    for stage in schemas.FUNNEL_STAGES:
        count = int(row[stage])
        drop = 0.0 if stage == "started" else _pct(previous - count, previous)
        steps.append(schemas.FunnelStep(stage=stage, count=count, percentage=_pct(count, started), drop_off_from_previous=drop))  # type: ignore[arg-type]
        previous = count
    return schemas.Funnel(
        period=rng.label,
        start_date=rng.start,
        end_date=rng.last_second,
        funnel=steps,
        conversion_rate=_pct(int(row["closed_won"]), started),
        average_qualification_time_seconds=_seconds(row["qualification_seconds"]),
    )


async def funnel(scope: TenantScope, rng: Range) -> schemas.Funnel:
    """The funnel of the period's leads (an agent's own leads for an agent)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return _funnel_of(rng, await _cohort(scope, rng, policy.only_agent(scope)))


# --------------------------------------------------------------------------- agents

AGENT_SORTS: dict[str, str] = {
    "closed_deals": "closed_deals",
    "total_value": "total_value_aed",
    "total_value_aed": "total_value_aed",
    "average_deal_value": "average_deal_value_aed",
    "average_deal_value_aed": "average_deal_value_aed",
    "leads_assigned": "leads_assigned",
    "conversion_rate": "conversion_rate",
    "average_response_time": "average_response_time_seconds",
    "average_response_time_seconds": "average_response_time_seconds",
    "performance_score": "performance_score",
    "agent_name": "agent_name",
}


def score(conversion_rate: float, total: Decimal, top_total: Decimal, response_seconds: int | None) -> int:
    """The performance score (SCORE_FORMULA)."""
    conversion = min(conversion_rate / 25, 1.0)
    value = float(total / top_total) if top_total > 0 else 0.0
    response = max(0.0, 1 - response_seconds / 86400) if response_seconds is not None else 0.0
    return int(Decimal(50 * conversion + 30 * value + 20 * response).quantize(Decimal(1), ROUND_HALF_UP))


async def _agents(scope: TenantScope, rng: Range, agent: int | None, currency: str) -> tuple[list[schemas.AgentPerformance], list[str]]:
    """Every person with leads or won deals in the period, and every active agent and manager (the team's rows are
    read to find its highest total value even for an agent, who gets only their own row)."""
    leads = await _day_sums(
        scope,
        rng,
        None,
        """d.agent_id, sum(d.started)::bigint AS leads, sum(d.won)::bigint AS won,
           sum(d.response_seconds) / nullif(sum(d.responded), 0) AS response""",
        "d.agent_id",
        assigned=True,
    )
    deals = await fetch(
        """SELECT d.owner_id, d.currency = $4 AS own, count(*) AS n, sum(d.value) AS total
             FROM deal d
            WHERE d.tenant_id = $1 AND d.status = 'won' AND d.closed_at >= $2 AND d.closed_at < $3 AND d.owner_id IS NOT NULL
            GROUP BY 1, 2""",
        scope.tenant_id,
        rng.start,
        rng.end,
        currency,
    )
    others = await fetch(
        """SELECT DISTINCT d.currency FROM deal d
            WHERE d.tenant_id = $1 AND d.status = 'won' AND d.closed_at >= $2 AND d.closed_at < $3 AND d.currency <> $4
              AND ($5::bigint IS NULL OR d.owner_id = $5) ORDER BY 1""",
        scope.tenant_id,
        rng.start,
        rng.end,
        currency,
        agent,
    )
    by_lead = {r["agent_id"]: r for r in leads}
    by_deal = {r["owner_id"]: r for r in deals if r["own"]}
    people = await fetch(
        """SELECT id, full_name, email FROM app_user
            WHERE tenant_id = $1 AND (id = ANY($2::bigint[]) OR (is_active AND role IN ('agent', 'manager')))
            ORDER BY id""",
        scope.tenant_id,
        sorted({*by_lead, *by_deal}),
    )
    top = max((_money(r["total"]) for r in by_deal.values()), default=ZERO)
    rows = []
    for person in people:
        lead = by_lead.get(person["id"], {})
        deal = by_deal.get(person["id"], {})
        assigned, won, closed = int(lead.get("leads", 0)), int(lead.get("won", 0)), int(deal.get("n", 0))
        total = _money(deal.get("total"))
        conversion = _pct(won, assigned)
        response = _seconds(lead.get("response"))
        rows.append(
            schemas.AgentPerformance(
                agent_id=person["id"],
                agent_name=person["full_name"] or person["email"],
                email=person["email"],
                closed_deals=closed,
                total_value_aed=total,
                average_deal_value_aed=_money(total / closed) if closed else ZERO,
                leads_assigned=assigned,
                won_leads=won,
                conversion_rate=conversion,
                average_response_time_seconds=response,
                performance_score=score(conversion, total, top, response),
            )
        )
    if agent is not None:
        rows = [r for r in rows if r.agent_id == agent]
    return rows, [r["currency"] for r in others]


def _sorted(rows: list[schemas.AgentPerformance], sort: str | None) -> list[schemas.AgentPerformance]:
    spec = sort or "-closed_deals"
    name = spec[1:] if spec[:1] in ("-", "+") else spec
    field = AGENT_SORTS.get(name)
    if field is None:
        raise ValidationFailed(
            f"Cannot sort by {name!r}",
            details={"field": "sort", "provided": spec, "expected": f"one of: {', '.join(sorted(AGENT_SORTS))} (prefix - for descending)"},
            human="This list cannot be sorted that way",
        )
    descending = spec.startswith("-")
    rows = sorted(rows, key=lambda r: (-r.performance_score, r.agent_name.lower(), r.agent_id))  # ties: best score, then name
    present = [r for r in rows if getattr(r, field) is not None]
    absent = [r for r in rows if getattr(r, field) is None]  # no response time yet: always last
    return sorted(present, key=lambda r: getattr(r, field) if field != "agent_name" else r.agent_name.lower(), reverse=descending) + absent


async def agents(scope: TenantScope, rng: Range, sort: str | None) -> schemas.AgentsReport:
    """The agents' leaderboard (an agent's own row for an agent)."""
    policy.VIEW.require(scope)
    _sorted([], sort)  # a bad sort is refused before any read
    async with tenant_transaction(scope.tenant_id):
        currency = await _currency(scope)
        rows, others = await _agents(scope, rng, policy.only_agent(scope), currency)
    return schemas.AgentsReport(
        period=rng.label,
        start_date=rng.start,
        end_date=rng.last_second,
        currency=currency,
        score_formula=SCORE_FORMULA,
        data=_sorted(rows, sort),
        other_currencies=others,
    )


# --------------------------------------------------------------------------- revenue, deals


async def _revenue(scope: TenantScope, rng: Range, agent: int | None, currency: str) -> tuple[Decimal, Decimal]:
    """The P&L's revenue of the period (its invoices' figures; of one agent's deals for an agent), and the part of it
    from deals that came from a lead."""
    args: list[Any] = [scope.tenant_id, rng.first_day, rng.last_day, currency]
    mine = ""
    if agent is not None:
        args.append(agent)
        mine = " AND i.revenue_owner_id = $5"
    rows = await fetch(
        f"""SELECT sum({_REVENUE}) AS revenue, sum({_REVENUE}) FILTER (WHERE i.revenue_lead_id IS NOT NULL) AS attributed
              FROM invoice i WHERE {_ISSUED}{mine}""",
        *args,
    )
    return _money(rows[0]["revenue"]), _money(rows[0]["attributed"])


def _bucket(rng: Range) -> str:
    return "day" if rng.days <= 31 else "week" if rng.days <= 120 else "month"


def _bucket_start(day: date, bucket: str) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def _next_bucket(start: date, bucket: str) -> date:
    if bucket == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=7 if bucket == "week" else 1)


def _bucket_label(start: date, bucket: str) -> str:
    return f"{start:%Y-%m}" if bucket == "month" else f"{start:%d %b}"


async def _revenue_series(scope: TenantScope, rng: Range, agent: int | None, currency: str) -> list[schemas.SeriesPoint]:
    """The P&L's revenue by day, week or month (every bucket listed, empty ones too)."""
    bucket = _bucket(rng)
    mine = ""
    args: list[Any] = [scope.tenant_id, rng.first_day, rng.last_day, currency, bucket]
    if agent is not None:
        args.append(agent)
        mine = " AND i.revenue_owner_id = $6"
    rows = await fetch(
        f"""SELECT date_trunc($5, i.issue_date::timestamp)::date AS bucket, sum({_REVENUE}) AS revenue
              FROM invoice i WHERE {_ISSUED}{mine} GROUP BY 1""",
        *args,
    )
    found = {r["bucket"]: _money(r["revenue"]) for r in rows}
    points = []
    cursor = _bucket_start(rng.first_day, bucket)
    while cursor <= rng.last_day:
        points.append(schemas.SeriesPoint(label=_bucket_label(cursor, bucket), start=cursor, value=found.get(cursor, ZERO)))
        cursor = _next_bucket(cursor, bucket)
    return points


async def _won_deals(scope: TenantScope, rng: Range, agent: int | None, currency: str) -> tuple[int, Decimal]:
    rows = await fetch(
        f"""SELECT count(*) AS n, sum(d.value) AS total FROM deal d
             WHERE d.tenant_id = $1 AND d.status = 'won' AND d.closed_at >= $2 AND d.closed_at < $3 AND d.currency = $5{_OWNER}""",
        scope.tenant_id,
        rng.start,
        rng.end,
        agent,
        currency,
    )
    return int(rows[0]["n"]), _money(rows[0]["total"])


async def _pipeline(scope: TenantScope, agent: int | None, currency: str) -> list[schemas.StageValue]:
    """Open deals now, by pipeline and stage (every stage listed), from deal_open (kept by triggers on deal)."""
    mine = " AND d.owner_id = $3" if agent is not None else ""
    args: list[Any] = [scope.tenant_id, currency]
    if agent is not None:
        args.append(agent)
    rows = await fetch(
        f"""SELECT p.name AS pipeline, s.name AS stage, coalesce(sum(d.deals), 0)::bigint AS deals, coalesce(sum(d.value), 0) AS value
              FROM stage s JOIN pipeline p ON p.tenant_id = s.tenant_id AND p.id = s.pipeline_id
              LEFT JOIN deal_open d ON d.tenant_id = s.tenant_id AND d.stage_id = s.id AND d.currency = $2{mine}
             WHERE s.tenant_id = $1
             GROUP BY p.is_default, p.position, p.id, p.name, s.position, s.id, s.name
             ORDER BY p.is_default DESC, p.position, p.id, s.position, s.id""",
        *args,
    )
    return [schemas.StageValue(pipeline=r["pipeline"], stage=r["stage"], deals=int(r["deals"]), value=_money(r["value"])) for r in rows]


# --------------------------------------------------------------------------- dashboard, KPIs

DASHBOARD_METRICS = ("leads", "revenue")


def parse_metrics(raw: str | None) -> tuple[str, ...]:
    """The comma-separated metric names (every one when absent)."""
    if raw is None or not raw.strip():
        return DASHBOARD_METRICS
    names = tuple(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))
    unknown = [n for n in names if n not in DASHBOARD_METRICS]
    if unknown:
        raise ValidationFailed(
            f"Invalid metrics: {unknown[0]!r} is not a metric",
            details={"field": "metrics", "provided": raw, "expected": f"a comma-separated list of: {', '.join(DASHBOARD_METRICS)}"},
            human="Choose among the metrics leads and revenue",
        )
    return names


async def dashboard(scope: TenantScope, rng: Range, metrics: Sequence[str]) -> schemas.Dashboard:
    """The analytics dashboard of the EnterpriseHub reference: leads, and revenue attributed and in the pipeline."""
    policy.VIEW.require(scope)
    agent = policy.only_agent(scope)
    leads = revenue = None
    async with tenant_transaction(scope.tenant_id):
        if "leads" in metrics:
            row = await _cohort(scope, rng, agent)
            total, qualified = int(row["started"]), int(row["qualified"])
            leads = schemas.LeadsSummary(total=total, qualified=qualified, conversion_rate=round(qualified / total, 4) if total else 0.0)
        if "revenue" in metrics:
            currency = await _currency(scope)
            stages = await _pipeline(scope, agent, currency)
            invoiced, attributed = await _revenue(scope, rng, agent, currency)
            revenue = schemas.RevenueSummary(
                attributed=attributed, pipeline=sum((s.value for s in stages), ZERO), invoiced=invoiced, currency=currency
            )
    return schemas.Dashboard(period=rng.label, start_date=rng.start, end_date=rng.last_second, leads=leads, revenue=revenue)


def _change(now: Decimal | None, before: Decimal | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return round(float((now - before) / abs(before) * 100), 1)


async def _figures(
    scope: TenantScope, rng: Range, agent: int | None, currency: str, cohort: dict[str, Any] | None = None
) -> dict[str, Decimal | None]:
    row = cohort or await _cohort(scope, rng, agent)
    started = int(row["started"])
    won_deals, won_value = await _won_deals(scope, rng, agent, currency)
    revenue, attributed = await _revenue(scope, rng, agent, currency)
    return {
        "new_leads": Decimal(started),
        "qualification_rate": Decimal(str(_pct(int(row["qualified"]), started))),
        "lead_conversion_rate": Decimal(str(_pct(int(row["won"]), started))),
        "won_deals": Decimal(won_deals),
        "won_value": won_value,
        "average_deal_value": _money(won_value / won_deals) if won_deals else ZERO,
        "revenue": revenue,
        "attributed_revenue": attributed,
        "average_first_response_seconds": None if row["response_seconds"] is None else Decimal(_seconds(row["response_seconds"]) or 0),
        "average_qualification_seconds": None
        if row["qualification_seconds"] is None
        else Decimal(_seconds(row["qualification_seconds"]) or 0),
    }


KPI_DEFINITIONS: list[tuple[str, str, str, str]] = [
    ("new_leads", "New leads", "count", "Live leads created in the period"),
    ("qualification_rate", "Qualified", "percent", "Share of the period's leads that reached QUALIFIED or a later status"),
    ("lead_conversion_rate", "Leads won", "percent", "Share of the period's leads that reached WON"),
    ("won_deals", "Deals won", "count", "Deals closed as won in the period (in the workspace's currency)"),
    ("won_value", "Won value", "money", "Value of the deals won in the period"),
    ("average_deal_value", "Average deal", "money", "Won value ÷ deals won"),
    ("revenue", "Revenue", "money", "The P&L's revenue: invoiced before tax, by issue date, credit notes taken off"),
    ("attributed_revenue", "Revenue from leads", "money", "The P&L's revenue of invoices for deals that came from a lead"),
    ("pipeline_value", "Open pipeline", "money", "Value of the open deals now (no previous value)"),
    ("average_first_response_seconds", "First response", "seconds", "Average time from a lead's creation to its first status change"),
    ("average_qualification_seconds", "Time to qualify", "seconds", "Average time from a lead's creation to QUALIFIED"),
]


async def _kpis(
    scope: TenantScope,
    rng: Range,
    agent: int | None,
    currency: str,
    cohort: dict[str, Any] | None = None,
    stages: list[schemas.StageValue] | None = None,
) -> schemas.KpiReport:
    """The KPIs; `cohort` and `stages` when the caller has read them already."""
    now = await _figures(scope, rng, agent, currency, cohort)
    before = await _figures(scope, rng.previous(), agent, currency)
    stages = await _pipeline(scope, agent, currency) if stages is None else stages
    now["pipeline_value"] = sum((s.value for s in stages), ZERO)
    before["pipeline_value"] = None
    previous = rng.previous()
    return schemas.KpiReport(
        period=rng.label,
        start_date=rng.start,
        end_date=rng.last_second,
        previous_start_date=previous.start,
        previous_end_date=previous.last_second,
        currency=currency,
        kpis=[
            schemas.Kpi(
                key=key,
                label=label,
                value=now[key],
                previous_value=before[key],
                change_percent=_change(now[key], before[key]),
                unit=unit,  # type: ignore[arg-type]
                definition=definition,
            )
            for key, label, unit, definition in KPI_DEFINITIONS
        ],
    )


async def kpis(scope: TenantScope, rng: Range) -> schemas.KpiReport:
    """The key figures of the period beside the previous period's."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        currency = await _currency(scope)
        return await _kpis(scope, rng, policy.only_agent(scope), currency)


# --------------------------------------------------------------------------- attribution

# A campaign: the lead's campaign, else its `utm_campaign` custom field, else "(none)" ("(no lead)" without a lead).
# The milestones, deals and invoices each keep their lead's campaign and `utm_campaign` (kept by triggers, as the
# source is), so every part of attribution is one index range joined only to the few campaigns.
_CAMPAIGN = "coalesce(c.name, {t}.{utm}, {otherwise}) AS key, c.id AS campaign_id"
_CAMPAIGN_JOIN = "LEFT JOIN campaign c ON c.tenant_id = {t}.tenant_id AND c.id = {t}.{campaign}"


def _by_campaign(t: str, campaign: str, utm: str, lead: str | None = None) -> tuple[str, str]:
    """The campaign key's columns and join for table alias `t`, its columns of the lead's campaign and utm_campaign,
    and of the lead itself (None: a row that always has one, whose index need not hold it)."""
    otherwise = "'(none)'" if lead is None else f"CASE WHEN {t}.{lead} IS NULL THEN '(no lead)' ELSE '(none)' END"
    return _CAMPAIGN.format(t=t, utm=utm, otherwise=otherwise), _CAMPAIGN_JOIN.format(t=t, campaign=campaign)


async def _attribution(scope: TenantScope, rng: Range, agent: int | None, currency: str, *, by_source: bool) -> list[schemas.Attribution]:
    if by_source:
        columns = "d.source AS key, NULL::bigint AS campaign_id, sum(d.started)::bigint AS leads, sum(d.won)::bigint AS won"
        leads = await _day_sums(scope, rng, agent, columns, "d.source")
        deal_key = "coalesce(d.lead_source, '(no lead)') AS key, NULL::bigint AS campaign_id"
        invoice_key = "coalesce(i.revenue_source, '(no lead)') AS key, NULL::bigint AS campaign_id"
        deal_joins = invoice_joins = ""
    else:
        cohort_key, cohort_join = _by_campaign("m", "campaign_id", "utm_campaign")
        leads = await fetch(
            f"""SELECT {cohort_key}, count(*) AS leads, count(*) FILTER (WHERE m.won_at < $3) AS won
                  FROM lead_milestone m {cohort_join}
                 WHERE m.tenant_id = $1 AND m.started_at >= $2 AND m.started_at < $3 AND m.live
                   AND ($4::bigint IS NULL OR m.agent_id = $4)
                 GROUP BY 1, 2""",
            scope.tenant_id,
            rng.start,
            rng.end,
            agent,
        )
        deal_key, deal_joins = _by_campaign("d", "lead_campaign_id", "lead_utm_campaign", "lead_id")
        invoice_key, invoice_joins = _by_campaign("i", "revenue_campaign_id", "revenue_utm_campaign", "revenue_lead_id")
    deals = await fetch(
        f"""SELECT {deal_key}, count(*) AS n, sum(d.value) AS total
              FROM deal d {deal_joins}
             WHERE d.tenant_id = $1 AND d.status = 'won' AND d.closed_at >= $2 AND d.closed_at < $3 AND d.currency = $5{_OWNER}
             GROUP BY 1, 2""",
        scope.tenant_id,
        rng.start,
        rng.end,
        agent,
        currency,
    )
    invoice_args: list[Any] = [scope.tenant_id, rng.first_day, rng.last_day, currency]
    mine = ""
    if agent is not None:
        invoice_args.append(agent)
        mine = " AND i.revenue_owner_id = $5"
    revenue = await fetch(
        f"""SELECT {invoice_key}, sum({_REVENUE}) AS revenue FROM invoice i {invoice_joins}
             WHERE {_ISSUED}{mine} GROUP BY 1, 2""",
        *invoice_args,
    )
    cells: dict[tuple[str, int | None], dict[str, Any]] = {}

    def cell(row: dict[str, Any]) -> dict[str, Any]:
        return cells.setdefault((row["key"], row["campaign_id"]), {"leads": 0, "won": 0, "n": 0, "total": ZERO, "revenue": ZERO})

    for row in leads:
        cell(row).update(leads=int(row["leads"]), won=int(row["won"]))
    for row in deals:
        cell(row).update(n=int(row["n"]), total=_money(row["total"]))
    for row in revenue:
        cell(row)["revenue"] = _money(row["revenue"])
    found = [_attributed(key, ident_value, c) for (key, ident_value), c in cells.items()]
    return sorted(found, key=lambda a: (-a.revenue, -a.won_value, -a.leads, a.key))


def _attributed(key: str, campaign_id: int | None, c: dict[str, Any]) -> schemas.Attribution:
    return schemas.Attribution(
        key=key,
        campaign_id=campaign_id,
        leads=c["leads"],
        won_leads=c["won"],
        conversion_rate=_pct(c["won"], c["leads"]),
        won_deals=c["n"],
        won_value=c["total"],
        revenue=c["revenue"],
    )


def _total(rows: list[schemas.Attribution]) -> schemas.Attribution:
    return _attributed(
        "total",
        None,
        {
            "leads": sum(r.leads for r in rows),
            "won": sum(r.won_leads for r in rows),
            "n": sum(r.won_deals for r in rows),
            "total": sum((r.won_value for r in rows), ZERO),
            "revenue": sum((r.revenue for r in rows), ZERO),
        },
    )


async def attribution(scope: TenantScope, rng: Range) -> schemas.AttributionReport:
    """Leads, won deals and revenue of the period by the leads' source and by campaign."""
    policy.VIEW.require(scope)
    agent = policy.only_agent(scope)
    async with tenant_transaction(scope.tenant_id):
        currency = await _currency(scope)
        by_source = await _attribution(scope, rng, agent, currency, by_source=True)
        by_campaign = await _attribution(scope, rng, agent, currency, by_source=False)
    return schemas.AttributionReport(
        period=rng.label,
        start_date=rng.start,
        end_date=rng.last_second,
        currency=currency,
        by_source=by_source,
        by_campaign=by_campaign,
        totals=_total(by_source),
    )


# --------------------------------------------------------------------------- the screen's overview


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything the dashboard screen, its PDF and its Excel file show, read in one transaction."""

    range: Range
    currency: str
    team: bool
    funnel: schemas.Funnel
    agents: list[schemas.AgentPerformance]
    kpis: schemas.KpiReport
    revenue: list[schemas.SeriesPoint]
    pipeline: list[schemas.StageValue]
    sources: list[schemas.Attribution]
    read_at: datetime


async def overview(scope: TenantScope, rng: Range, sort: str | None = None) -> Overview:
    """The dashboard's figures (an agent's own for an agent)."""
    policy.VIEW.require(scope)
    agent = policy.only_agent(scope)
    async with tenant_transaction(scope.tenant_id):
        currency = await _currency(scope)
        cohort = await _cohort(scope, rng, agent)
        rows, _others = await _agents(scope, rng, agent, currency)
        stages = await _pipeline(scope, agent, currency)
        report = await _kpis(scope, rng, agent, currency, cohort, stages)
        series = await _revenue_series(scope, rng, agent, currency)
        sources = await _attribution(scope, rng, agent, currency, by_source=True)
        read_at = (await fetch("SELECT now() AS t"))[0]["t"]
    return Overview(
        range=rng,
        currency=currency,
        team=agent is None,
        funnel=_funnel_of(rng, cohort),
        agents=_sorted(rows, sort or "-performance_score"),
        kpis=report,
        revenue=series,
        pipeline=stages,
        sources=sources,
        read_at=read_at,
    )


async def record_export(scope: TenantScope, overview: Overview, kind: str) -> None:
    """An export of the dashboard goes in the audit log (who took which figures, when)."""
    details = {"format": kind, "start_date": overview.range.first_day.isoformat(), "end_date": overview.range.last_day.isoformat()}
    await audit(scope, Subject("analytics", ""), "analytics.exported", {**details, "whole_team": overview.team})
