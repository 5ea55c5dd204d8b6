"""Customer segments (NeuraCRM guide §4.4): plain rules over a lead's own fields and its deals, all in this one list.

A lead may fall in several segments. For each, over the live leads it matches (an agent: the leads assigned to them
and the deals they own): how many, the value of their won deals and of their open ones (in the workspace's currency;
deals in other currencies are not counted), the share of them won (status WON), what the figures say next to the
average lead's, and what to do. docs/forecasting.md has the table.

The figures are one pass over every live lead, which a tenant of up to LIVE_LIMIT leads affords on every request (a
few hundred milliseconds at 100,000). A larger tenant's whole-team figures are counted by a cron job every
REFRESH_MINUTES and read from `segment_snapshot`, and the answer says when they were counted (`as_of`); an agent's own
figures, over their own leads, are always counted on the spot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from saq.types import Context

from app.billing.service import read_settings
from app.core.jobs import job
from app.db import TenantScope, fetch, tenant_ids, tenant_transaction
from app.forecasting import policy, schemas

LIVE_LIMIT = 100_000
REFRESH_MINUTES = 15


@dataclass(frozen=True, slots=True)
class Rule:
    """A segment: its key, name, the rule in words, the rule in SQL (over `l` the lead and `d` its deals' sums) and
    what to do about it."""

    key: str
    name: str
    description: str
    sql: str
    recommendations: tuple[str, ...]


BUDGET = "coalesce(l.budget_max, l.budget_min)"
OPEN = "l.status NOT IN ('WON', 'LOST')"

RULES: tuple[Rule, ...] = (
    Rule(
        "high_value_buyers",
        "High-value buyers",
        "Budget of 5,000,000 or more (top of the range, in the lead's currency)",
        f"{BUDGET} >= 5000000",
        ("Give them a senior agent", "Prepare an off-market shortlist", "Offer an ROI report with every property"),
    ),
    Rule(
        "big_deals",
        "Big-ticket deals",
        "A deal worth 2,000,000 or more, open or won",
        "d.max_value >= 2000000",
        ("Review these deals weekly", "Line up financing partners early", "Keep the owner informed at every stage"),
    ),
    Rule(
        "hot_leads",
        "Hot leads",
        "Score of 70 or more and still open",
        f"l.hotness_score >= 70 AND {OPEN}",
        ("Call within 15 minutes of any reply", "Book a viewing this week", "Send matching properties today"),
    ),
    Rule(
        "warm_nurture",
        "Warm, to nurture",
        "Score from 40 to 69 and still open",
        f"l.hotness_score BETWEEN 40 AND 69 AND {OPEN}",
        ("Put them on a nurture sequence", "Ask the missing qualification questions", "Offer a viewing when they reply"),
    ),
    Rule(
        "gone_quiet",
        "Gone quiet",
        "Still open, no interaction for 30 days or more",
        f"{OPEN} AND coalesce(l.last_interaction, l.created_at) < now() - interval '30 days'",
        ("Send a re-engagement message", "Offer new listings in their area", "Close them as lost after a last try"),
    ),
    Rule(
        "referrals",
        "Referrals",
        "Source is a referral",
        "lower(l.source) = 'referral'",
        ("Thank the referrer", "Ask happy buyers for more referrals", "Answer within the hour: they expect it"),
    ),
    Rule(
        "portal_leads",
        "Portal leads",
        "Source is a property portal or the website",
        "lower(l.source) IN ('portal', 'website', 'property_finder', 'bayut', 'dubizzle')",
        ("Answer within 5 minutes: portal leads compare agencies", "Qualify the budget on the first call"),
    ),
    Rule(
        "new_this_month",
        "New in the last 30 days",
        "Created in the last 30 days",
        "l.created_at >= now() - interval '30 days'",
        ("Make the first contact within a day", "Score and qualify them", "Assign the unassigned ones"),
    ),
)


def _query() -> str:
    """One pass: each lead's match of every rule computed once (m0…), then counted and summed per rule."""
    matches = ", ".join(f"coalesce(({rule.sql}), false) AS m{n}" for n, rule in enumerate(RULES))
    columns = ["count(*) AS all_count", "count(*) FILTER (WHERE won) AS all_won", "coalesce(sum(won_value), 0) AS all_value"]
    for n in range(len(RULES)):
        columns += [
            f"count(*) FILTER (WHERE m{n}) AS c{n}",
            f"count(*) FILTER (WHERE m{n} AND won) AS w{n}",
            f"coalesce(sum(won_value) FILTER (WHERE m{n}), 0) AS v{n}",
            f"coalesce(sum(open_value) FILTER (WHERE m{n}), 0) AS o{n}",
        ]
    return f"""WITH d AS (
                   SELECT lead_id, sum(value) FILTER (WHERE status = 'won') AS won_value,
                          sum(value) FILTER (WHERE status = 'open') AS open_value, max(value) AS max_value
                     FROM deal WHERE tenant_id = $1 AND lead_id IS NOT NULL AND currency = $2 AND ($3::bigint IS NULL OR owner_id = $3)
                    GROUP BY lead_id),
               matched AS (
                   SELECT l.status = 'WON' AS won, d.won_value, d.open_value, {matches}
                     FROM lead l LEFT JOIN d ON d.lead_id = l.id
                    WHERE l.tenant_id = $1 AND l.deleted_at IS NULL AND ($3::bigint IS NULL OR l.agent_id = $3))
               SELECT {", ".join(columns)} FROM matched"""


QUERY = _query()


async def _live_leads(scope: TenantScope) -> int:
    rows = await fetch("SELECT coalesce(sum(live), 0) AS n FROM lead_counter WHERE tenant_id = $1", scope.tenant_id)
    return int(rows[0]["n"])


async def _count(scope: TenantScope, currency: str, owner: int | None) -> tuple[dict[str, Any], datetime]:
    rows = await fetch(f"SELECT now() AS as_of, * FROM ({QUERY}) figures", scope.tenant_id, currency, owner)
    row = rows[0]
    return {k: v for k, v in row.items() if k != "as_of"}, row["as_of"]


async def _snapshot(scope: TenantScope, currency: str) -> tuple[dict[str, Any], datetime]:
    """Count the team's figures and keep them as the tenant's snapshot (in the caller's transaction)."""
    row, as_of = await _count(scope, currency, None)
    await fetch(
        """INSERT INTO segment_snapshot (tenant_id, currency, figures, computed_at) VALUES ($1, $2, $3::jsonb, $4)
           ON CONFLICT (tenant_id) DO UPDATE SET currency = EXCLUDED.currency, figures = EXCLUDED.figures,
                                                computed_at = EXCLUDED.computed_at""",
        scope.tenant_id,
        currency,
        json.dumps(row, default=str),
        as_of,
    )
    return row, as_of


async def segments(scope: TenantScope) -> schemas.SegmentsResponse:
    """Every segment's figures for the team, or for an agent their own leads and deals."""
    policy.VIEW.require(scope)
    owner = policy.own_only(scope)
    kept = False
    async with tenant_transaction(scope.tenant_id):
        currency = (await read_settings(scope)).currency
        if owner is None and await _live_leads(scope) > LIVE_LIMIT:
            kept = True
            snapshot = await fetch(
                "SELECT figures, computed_at FROM segment_snapshot WHERE tenant_id = $1 AND currency = $2", scope.tenant_id, currency
            )
            if snapshot:
                row, as_of = json.loads(snapshot[0]["figures"]), snapshot[0]["computed_at"]
            else:  # not counted yet (or the workspace's currency changed): counted now, and kept for the next request
                row, as_of = await _snapshot(scope, currency)
        else:
            row, as_of = await _count(scope, currency, owner)
    overall = row["all_won"] / row["all_count"] if row["all_count"] else 0.0
    found = []
    for n, rule in enumerate(RULES):
        count, won = int(row[f"c{n}"]), int(row[f"w{n}"])
        value, open_value = Decimal(row[f"v{n}"]).quantize(Decimal("0.01")), Decimal(row[f"o{n}"]).quantize(Decimal("0.01"))
        rate = won / count if count else 0.0
        found.append(
            schemas.Segment(
                id=n + 1,
                key=rule.key,
                name=rule.name,
                description=rule.description,
                customer_count=count,
                total_deal_value=value,
                open_deal_value=open_value,
                conversion_rate=round(rate, 4),
                insights=_insights(count, int(row["all_count"]), won, rate, overall, value, open_value, currency),
                recommendations=list(rule.recommendations) if count else [],
            )
        )
    return schemas.SegmentsResponse(
        success=True,
        data=found,
        currency=currency,
        scope="own" if owner is not None else "team",
        as_of=as_of,
        refreshed_every_minutes=REFRESH_MINUTES if kept else None,
    )


def _insights(
    count: int, total: int, won: int, rate: float, overall: float, value: Decimal, open_value: Decimal, currency: str
) -> list[str]:
    """Sentences read off the segment's figures, next to the average lead's."""
    if not count:
        return ["No leads match this rule yet."]
    said = [f"{count:,} leads, {count / total:.0%} of all" if total else f"{count:,} leads"]
    if overall:
        relative = rate / overall
        if relative >= 1.2:
            said.append(f"Converts at {rate:.0%}, {relative:.1f} times the average lead ({overall:.0%})")
        elif relative <= 0.8:
            said.append(f"Converts at {rate:.0%}, below the average lead ({overall:.0%})")
        else:
            said.append(f"Converts at {rate:.0%}, about the average ({overall:.0%})")
    if won and value:
        said.append(f"{currency} {float(value) / won:,.0f} won per converted lead")
    if open_value:
        said.append(f"{currency} {float(open_value):,.0f} still open in deals")
    return said


@job(key="refresh-segments:{tenant_id}", timeout=900, retries=2, retry_delay=30.0)
async def refresh_segments(ctx: Context, *, tenant_id: int) -> bool:
    """Count one tenant's team segment figures again, if it has more than LIVE_LIMIT live leads (else every request
    counts them; a snapshot left from when it had more is dropped). Idempotent: a rerun counts the same leads."""
    scope = TenantScope.system(tenant_id, "system:segments")
    async with tenant_transaction(tenant_id):
        if await _live_leads(scope) <= LIVE_LIMIT:
            await fetch("DELETE FROM segment_snapshot WHERE tenant_id = $1", tenant_id)
            return False
        await _snapshot(scope, (await read_settings(scope)).currency)
    return True


@job(key="refresh-all-segments", timeout=300, retries=1)
async def refresh_all_segments(ctx: Context) -> int:
    """Every REFRESH_MINUTES: queue a recount of the segment figures of each tenant above LIVE_LIMIT or with a
    snapshot (to drop it once the tenant is under); how many were queued. Small tenants cost one count each here,
    not a job each."""
    queued = 0
    for tenant_id in await tenant_ids():
        async with tenant_transaction(tenant_id):
            scope = TenantScope.system(tenant_id, "system:segments")
            kept = await fetch("SELECT 1 FROM segment_snapshot WHERE tenant_id = $1", tenant_id)
            due = bool(kept) or await _live_leads(scope) > LIVE_LIMIT
        if due:
            await refresh_segments.enqueue(ctx["worker"].queue, tenant_id=tenant_id)
            queued += 1
    return queued
