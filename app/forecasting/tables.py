"""The customer segments' figures of a large tenant, as of their last refresh (app/forecasting/segments.py)."""

from __future__ import annotations

from piccolo.columns import JSONB, BigSerial, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tenancy.tables import Tenant


class SegmentSnapshot(Table, tablename="segment_snapshot"):
    """One row per tenant: the whole team's segment figures in the workspace's currency, and when they were counted.
    Refreshed by a cron job; only tenants with more leads than can be counted on every request read it."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False, unique=True)
    currency = Varchar(length=3)
    figures = JSONB()
    computed_at = Timestamptz(default=TimestamptzNow())
