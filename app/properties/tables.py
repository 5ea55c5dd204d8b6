"""Properties (real-estate objects worked through their own stages), portfolios and their reconciliations."""

from __future__ import annotations

from decimal import Decimal

from piccolo.columns import (
    Array,
    BigInt,
    BigSerial,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.tenancy.tables import Tenant


class Property(Table, tablename="property"):
    """A property the team works: its owner (a possible seller), its facts (for matching buyers and comparables),
    and where it stands (`current_stage`). Timeline entries are app.events' activity (subject `property`)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    address = Varchar(length=300)
    city = Varchar(length=100, default="")
    state = Varchar(length=100, default="")
    zip_code = Varchar(length=20, default="")
    neighborhood = Varchar(length=100, default="")
    owner_name = Varchar(length=200, default="")
    owner_phone = Varchar(length=32, null=True, default=None)
    owner_email = Varchar(length=254, null=True, default=None)
    assigned_user_id = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    bird_dog_score = Numeric(digits=(4, 3), null=True, default=None)
    estimated_value = Numeric(digits=(16, 2), null=True, default=None)
    price = Numeric(digits=(16, 2), null=True, default=None)
    currency = Varchar(length=3, default="AED")
    bedrooms = Integer(null=True, default=None)
    bathrooms = Numeric(digits=(4, 1), null=True, default=None)
    square_feet = Integer(null=True, default=None)
    property_type = Varchar(length=20, null=True, default=None)
    listing_status = Varchar(length=20, default="off_market")
    listed_on = Date(null=True, default=None)
    latitude = Numeric(digits=(9, 6), null=True, default=None)
    longitude = Numeric(digits=(9, 6), null=True, default=None)
    current_stage = Varchar(length=20, default="new")
    stage_changed_at = Timestamptz(default=TimestamptzNow())
    closed_at = Timestamptz(null=True, default=None)
    tags = Array(base_column=Varchar(length=50), default=list)
    notes = Text(default="")
    last_contact_at = Timestamptz(null=True, default=None)
    has_memo = Boolean(default=False)
    has_reply = Boolean(default=False)
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Portfolio(Table, tablename="portfolio"):
    """A named set of properties with the value it is expected to be worth (its members' recorded values, or a
    total set by hand), reconciled against their current estimates."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=100)
    expected_value = Numeric(digits=(18, 2), null=True, default=None)  # None: the sum of its members' recorded values
    threshold = Numeric(digits=(6, 3), default=Decimal("0.5"))  # the tolerated discrepancy, in percent
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class PortfolioProperty(Table, tablename="portfolio_property"):
    """A property in a portfolio, with the value recorded for it when it joined (or given)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    portfolio_id = ForeignKey(references=Portfolio, on_delete=OnDelete.cascade, null=False)
    property_id = ForeignKey(references=Property, on_delete=OnDelete.cascade, null=False)
    expected_value = Numeric(digits=(16, 2), default=Decimal(0))
    added_at = Timestamptz(default=TimestamptzNow())


class Reconciliation(Table, tablename="portfolio_reconciliation"):
    """One run of a portfolio's reconciliation, kept so the screen and the API can show the history."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    portfolio_id = ForeignKey(references=Portfolio, on_delete=OnDelete.cascade, null=False)
    validation_status = Varchar(length=4)
    total_value_expected = Numeric(digits=(18, 2))
    total_value_actual = Numeric(digits=(18, 2))
    discrepancy_amount = Numeric(digits=(18, 2))
    discrepancy_percentage = Numeric(digits=(9, 3))
    threshold = Numeric(digits=(6, 3))
    properties_checked = Integer(default=0)
    checked_by = BigInt(null=True, default=None)
    checked_at = Timestamptz(default=TimestamptzNow())
