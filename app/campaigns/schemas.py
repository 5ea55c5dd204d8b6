"""Request and response types of campaigns."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from app.core.schemas import MONEY_PATTERN, Amount, RequestBody, ResponseBody

Money = Annotated[
    Decimal,
    msgspec.Meta(
        description="The campaign's budget in `currency` (a JSON number or a decimal string)", extra_json_schema={"pattern": MONEY_PATTERN}
    ),
]


class Campaign(ResponseBody):
    """A campaign with its numbers: leads it brought, what each cost, and the revenue of its won deals."""

    id: int
    name: str
    source: str
    channel: str
    budget: Amount
    currency: str
    starts_on: date | None
    ends_on: date | None
    notes: str
    leads: int
    won_leads: int
    cost_per_lead: Amount | None
    won_revenue: Amount  # its leads' won deals in the campaign's own currency
    won_revenue_converted: Amount  # all its won deals in the workspace's currency, each at the rate of the day it was won
    tenant_currency: str  # the workspace's (billing) currency
    won_deals_without_rate: int  # won deals left out of the converted sum: their currency has no exchange rate yet
    conversion_rate: float
    created_at: datetime
    updated_at: datetime


class CampaignCreate(RequestBody, kw_only=True):
    """A new campaign. `source` is the leads' source it stands for (e.g. `facebook_ads`); `ends_on` is not before
    `starts_on`."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    source: Annotated[str, msgspec.Meta(max_length=50)] = ""
    channel: Annotated[str, msgspec.Meta(max_length=30, description="e.g. social, search, portal, event")] = ""
    budget: Money = Decimal(0)
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. AED")] = "AED"
    starts_on: date | None = None
    ends_on: date | None = None
    notes: Annotated[str, msgspec.Meta(max_length=5000)] = ""
