"""Campaigns: a named lead source with a budget and dates; leads carry `campaign_id`."""

from __future__ import annotations

from decimal import Decimal

from piccolo.columns import BigInt, BigSerial, Date, ForeignKey, Numeric, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tenancy.tables import Tenant


class Campaign(Table, tablename="campaign"):
    """A marketing campaign: where its leads come from (`source`), what it costs and when it runs."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=200)
    source = Varchar(length=50, default="")
    channel = Varchar(length=30, default="")
    budget = Numeric(digits=(16, 2), default=Decimal(0))
    currency = Varchar(length=3, default="AED")
    starts_on = Date(null=True, default=None)
    ends_on = Date(null=True, default=None)
    notes = Text(default="")
    created_by = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
