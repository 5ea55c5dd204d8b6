"""Campaigns and their numbers: leads brought, cost per lead, won leads and the revenue of their won deals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.billing.service import read_settings
from app.campaigns import policy, schemas
from app.campaigns.tables import Campaign
from app.core.errors import ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery, Page, page_of
from app.core.schemas import checked_money
from app.db import TenantScope, fetch, tenant_transaction
from app.events.service import Subject, emit

BIGINT_MAX = 2**63 - 1


# Each campaign with its leads (not deleted), its won leads, the value of its leads' won deals in its own currency, and
# that of all its won deals in the workspace's currency ($n: its billing currency), each deal at the exchange rate in
# force on the day it was won (app.billing.exchange_rates); deals in a currency without a rate are counted apart.
def _select(base: int) -> str:
    return f"""SELECT c.id, c.name, c.source, c.channel, c.budget, c.currency, c.starts_on, c.ends_on, c.notes, c.created_at,
       c.updated_at, coalesce(s.leads, 0) AS leads, coalesce(s.won_leads, 0) AS won_leads, coalesce(r.revenue, 0) AS won_revenue,
       coalesce(r.converted, 0) AS won_revenue_converted, coalesce(r.without_rate, 0) AS won_deals_without_rate
  FROM campaign c
  LEFT JOIN LATERAL (SELECT count(*) AS leads, count(*) FILTER (WHERE l.status = 'WON') AS won_leads FROM lead l
                      WHERE l.tenant_id = c.tenant_id AND l.campaign_id = c.id AND l.deleted_at IS NULL) s ON true
  LEFT JOIN LATERAL (SELECT sum(d.value) FILTER (WHERE d.currency = c.currency) AS revenue,
                            sum(d.value * CASE WHEN d.currency = ${base} THEN 1 ELSE x.rate END) AS converted,
                            count(*) FILTER (WHERE d.currency <> ${base} AND x.rate IS NULL) AS without_rate
                       FROM deal d JOIN lead l ON l.id = d.lead_id
                       LEFT JOIN LATERAL (SELECT x.rate FROM exchange_rate x
                                           WHERE x.tenant_id = d.tenant_id AND x.currency = d.currency
                                             AND x.effective_on <= coalesce(d.closed_at, d.updated_at)::date
                                           ORDER BY x.effective_on DESC LIMIT 1) x ON true
                      WHERE d.tenant_id = c.tenant_id AND l.tenant_id = c.tenant_id AND l.campaign_id = c.id
                        AND d.status = 'won') r ON true"""


def _with_numbers(row: dict[str, Any]) -> schemas.Campaign:
    leads = int(row["leads"])
    cost = (Decimal(row["budget"]) / leads).quantize(Decimal("0.01"), ROUND_HALF_UP) if leads else None
    return schemas.Campaign(
        **{
            k: row[k]
            for k in ("id", "name", "source", "channel", "budget", "currency", "starts_on", "ends_on", "notes", "created_at", "updated_at")
        },
        leads=leads,
        won_leads=int(row["won_leads"]),
        cost_per_lead=cost,
        won_revenue=Decimal(row["won_revenue"]),
        won_revenue_converted=Decimal(row["won_revenue_converted"]).quantize(Decimal("0.01"), ROUND_HALF_UP),
        tenant_currency=row["tenant_currency"],
        won_deals_without_rate=int(row["won_deals_without_rate"]),
        conversion_rate=round(int(row["won_leads"]) / leads, 4) if leads else 0.0,
    )


async def list_campaigns(scope: TenantScope, query: ListQuery) -> Page[schemas.Campaign]:
    """The tenant's campaigns, newest first, with their numbers."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        base = (await read_settings(scope)).currency
        rows = await fetch(
            f"{_select(2)} WHERE c.tenant_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT {query.limit} OFFSET {query.offset}",
            scope.tenant_id,
            base,
        )
        total = (await fetch("SELECT count(*) AS n FROM campaign WHERE tenant_id = $1", scope.tenant_id))[0]["n"]
    return page_of(schemas.Campaign, [_with_numbers({**r, "tenant_currency": base}) for r in rows], query, int(total))


async def get_campaign(scope: TenantScope, campaign_id: int) -> schemas.Campaign:
    """One campaign with its numbers (404 for another tenant's id)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _read(scope, campaign_id)


async def _read(scope: TenantScope, campaign_id: int) -> schemas.Campaign:
    base = (await read_settings(scope)).currency
    rows = (
        await fetch(f"{_select(3)} WHERE c.tenant_id = $1 AND c.id = $2", scope.tenant_id, min(campaign_id, BIGINT_MAX), base)
        if campaign_id > 0
        else []
    )
    if not rows:
        raise ResourceNotFound("Campaign not found", details={"campaign_id": campaign_id})
    return _with_numbers({**rows[0], "tenant_currency": base})


async def create_campaign(scope: TenantScope, data: schemas.CampaignCreate) -> schemas.Campaign:
    """A new campaign (its budget exact money, its dates in order)."""
    policy.CREATE.require(scope)
    checked_money("budget", data.budget, human="Enter the budget as an amount, like 25000")
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        raise ValidationFailed(
            "Invalid ends_on: before starts_on",
            details={"field": "ends_on", "provided": data.ends_on.isoformat(), "expected": "on or after starts_on", "reason": "range"},
            human="End the campaign on or after its start",
        )
    now = datetime.now(UTC)
    async with tenant_transaction(scope.tenant_id):
        rows = await Campaign.insert(
            Campaign(
                tenant_id=scope.tenant_id,
                name=data.name.strip(),
                source=data.source.strip(),
                channel=data.channel.strip(),
                budget=data.budget,
                currency=data.currency,
                starts_on=data.starts_on,
                ends_on=data.ends_on,
                notes=data.notes,
                created_by=scope.user_id,
                created_at=now,
                updated_at=now,
            )
        ).returning(Campaign.id)
        campaign = await _read(scope, rows[0]["id"])
        await emit(scope, Subject("campaign", campaign.id), "campaign.created", audit={"name": campaign.name, "budget": campaign.budget})
        return campaign
