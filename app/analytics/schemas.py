"""Response types of analytics: the funnel and the agents (ArtinSmartRealty §3.2), the dashboard (EnterpriseHub
"Analytics & BI"), the KPIs and the attribution report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from app.core.schemas import Amount, ResponseBody

FunnelStage = Literal["started", "qualified", "phone_captured", "viewing_scheduled", "closed_won"]
FUNNEL_STAGES: tuple[str, ...] = FunnelStage.__args__  # type: ignore[attr-defined]


class FunnelStep(ResponseBody):
    """A stage: the period's leads that passed it and every stage before it."""

    stage: FunnelStage
    count: int
    percentage: float  # of the leads started, 0 to 100, one decimal
    drop_off_from_previous: float  # share of the previous stage's leads lost here, 0 to 100, one decimal


class Funnel(ResponseBody):
    """The sales funnel of the leads created from `start_date` to `end_date` (UTC)."""

    period: str
    start_date: datetime
    end_date: datetime
    funnel: list[FunnelStep]
    conversion_rate: float  # closed_won of started, percent
    average_qualification_time_seconds: int | None  # from creation to qualified, of the qualified ones


class AgentPerformance(ResponseBody):
    """An agent's figures for the period. Amounts are in the workspace's currency (`currency` of the answer; the
    `_aed` names are the reference's)."""

    agent_id: int
    agent_name: str
    email: str
    closed_deals: int
    total_value_aed: Amount
    average_deal_value_aed: Amount
    leads_assigned: int
    won_leads: int
    conversion_rate: float  # won_leads of leads_assigned, percent
    average_response_time_seconds: int | None
    performance_score: int  # 0 to 100, see `score_formula`


class AgentsReport(ResponseBody):
    """The agents' leaderboard."""

    period: str
    start_date: datetime
    end_date: datetime
    currency: str
    score_formula: str
    data: list[AgentPerformance]
    other_currencies: list[str]  # currencies of won deals left out of the amounts


class LeadsSummary(ResponseBody):
    total: int
    qualified: int
    conversion_rate: float  # qualified of total, a fraction 0 to 1 (as the reference writes it)


class RevenueSummary(ResponseBody):
    attributed: Amount  # P&L revenue (invoiced before tax) of the period's invoices for deals that came from a lead
    pipeline: Amount  # value of the open deals now
    invoiced: Amount  # P&L revenue of every invoice of the period
    currency: str


class Dashboard(ResponseBody, omit_defaults=True):
    """The analytics dashboard (EnterpriseHub shape): only the `metrics` asked for are present."""

    period: str
    start_date: datetime
    end_date: datetime
    leads: LeadsSummary | None = None
    revenue: RevenueSummary | None = None


class Kpi(ResponseBody):
    """One key figure with the previous period of the same length, for comparison."""

    key: str
    label: str
    value: Amount | None  # a count, a percentage, an amount or seconds (see `unit`); None when there is nothing to measure
    previous_value: Amount | None
    change_percent: float | None  # from the previous value, percent; None when that was 0 or unknown
    unit: Literal["count", "percent", "money", "seconds"]
    definition: str


class KpiReport(ResponseBody):
    period: str
    start_date: datetime
    end_date: datetime
    previous_start_date: datetime
    previous_end_date: datetime
    currency: str
    kpis: list[Kpi]


class Attribution(ResponseBody):
    """Leads and won revenue of one source or campaign."""

    key: str  # the source, or the campaign's name
    campaign_id: int | None  # by campaign: the campaign's id (None: a `utm_campaign` or no campaign)
    leads: int
    won_leads: int
    conversion_rate: float  # won_leads of leads, percent
    won_deals: int
    won_value: Amount  # value of the deals won in the period
    revenue: Amount  # P&L revenue (invoiced before tax) of the period's invoices for those leads' deals


class AttributionReport(ResponseBody):
    """Won revenue by lead source and by campaign (the lead's campaign, else its `custom_fields.utm_campaign`)."""

    period: str
    start_date: datetime
    end_date: datetime
    currency: str
    by_source: list[Attribution]
    by_campaign: list[Attribution]
    totals: Attribution


class SeriesPoint(ResponseBody):
    label: str
    start: date
    value: Amount


class StageValue(ResponseBody):
    pipeline: str
    stage: str
    deals: int
    value: Amount
