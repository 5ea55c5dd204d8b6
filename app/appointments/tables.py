"""Appointments (viewings, calls, meetings) and the secret calendar feeds of the people who hold them."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.contacts.tables import Contact
from app.leads.tables import Lead
from app.tenancy.tables import Tenant


class Appointment(Table, tablename="appointment"):
    """A time an agent spends with a lead: a viewing, a call or a meeting.

    No agent holds two active (scheduled or confirmed) appointments at overlapping times: an exclusion
    constraint in the migration says so, so concurrent bookings cannot both win.
    """

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    lead_id = ForeignKey(references=Lead, on_delete=OnDelete.cascade, null=False)
    contact_id = ForeignKey(references=Contact, on_delete=OnDelete.set_null, null=True)
    # deal_id and property_id reference deal and property (raw migrations: appointments' tables import neither domain's).
    deal_id = BigInt(null=True, default=None)
    property_id = BigInt(null=True, default=None)
    agent_id = ForeignKey(references=User, on_delete=OnDelete.cascade, null=False)  # people are deactivated, not deleted
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    location = Varchar(length=300, default="")
    type = Varchar(length=20, default="viewing")
    status = Varchar(length=20, default="scheduled")
    notes = Text(default="")
    created_by = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class CalendarFeed(Table, tablename="calendar_feed"):
    """A person's secret calendar-feed address: only the SHA-256 of its token is kept; a new one replaces the old."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, null=False, unique=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
