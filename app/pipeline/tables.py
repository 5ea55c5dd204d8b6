"""Pipelines, their stages and the deals on them (their timelines are app.events' activity)."""

from __future__ import annotations

from decimal import Decimal

from piccolo.columns import BigInt, BigSerial, Boolean, Date, ForeignKey, Integer, Numeric, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.contacts.tables import Company, Contact
from app.leads.tables import Lead
from app.tenancy.tables import Tenant


class Pipeline(Table, tablename="pipeline"):
    """An ordered set of stages deals move through (sales, rentals, off-plan…); one is the tenant's default."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=100)
    is_default = Boolean(default=False)
    position = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Stage(Table, tablename="stage"):
    """A column of the board: its order, an optional work-in-progress limit and the chance a deal in it is won."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    pipeline_id = ForeignKey(references=Pipeline, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=100)
    position = Integer(default=1)
    wip_limit = Integer(null=True, default=None)
    probability = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Deal(Table, tablename="deal"):
    """A sale in progress. Open deals are ordered in their stage by `rank`, a sparse key (their dense 1-based
    `position` is computed from it: a move rewrites one row, not its neighbours); closed ones have none."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    pipeline_id = ForeignKey(references=Pipeline, on_delete=OnDelete.cascade, null=False)
    stage_id = ForeignKey(references=Stage, on_delete=OnDelete.restrict, null=False)
    rank = BigInt(null=True, default=None)
    title = Varchar(length=200)
    value = Numeric(digits=(16, 2), default=Decimal(0))
    currency = Varchar(length=3, default="AED")
    owner_id = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    contact_id = ForeignKey(references=Contact, on_delete=OnDelete.set_null, null=True)
    company_id = ForeignKey(references=Company, on_delete=OnDelete.set_null, null=True)
    lead_id = ForeignKey(references=Lead, on_delete=OnDelete.set_null, null=True)
    # The lead's source, campaign and `utm_campaign` custom field (None without a lead), for analytics' attribution:
    # kept by triggers on deal and lead (migrations/…_revenue_attribution.py), never written by the application.
    lead_source = Varchar(length=50, null=True, default=None)
    lead_campaign_id = BigInt(null=True, default=None)
    lead_utm_campaign = Text(null=True, default=None)
    property_id = BigInt(null=True, default=None)  # the properties domain adds its foreign key
    status = Varchar(length=10, default="open")
    lost_reason = Varchar(length=300, null=True, default=None)
    expected_close_date = Date(null=True, default=None)
    probability = Integer(null=True, default=None)  # None: the stage's
    notes = Text(default="")
    closed_at = Timestamptz(null=True, default=None)
    last_activity_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class DealWatcher(Table, tablename="deal_watcher"):
    """A person told in the app about a deal's changes."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    deal_id = ForeignKey(references=Deal, on_delete=OnDelete.cascade, null=False)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, null=False)
    created_at = Timestamptz(default=TimestamptzNow())
