"""Tickets, their conversation, the SLA policy and business calendar they are timed by, and knowledge-base articles."""

from __future__ import annotations

from piccolo.columns import JSONB, Array, BigInt, BigSerial, Boolean, ForeignKey, Integer, OnDelete, Real, Text, Time, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.contacts.tables import Contact
from app.tenancy.tables import Tenant


class Ticket(Table, tablename="ticket"):
    """A customer's request worked by the support team.

    Its SLA clocks run in the tenant's business hours (app.support.sla): `sla_pauses` holds the intervals the
    clocks stood still (waiting on the customer, resolved, closed), and the due times are recomputed from them at
    every change (NULL while a clock stands still). A breach is published once: `*_breached_at` records it.
    """

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    title = Varchar(length=200)
    description = Text(default="")
    status = Varchar(length=20, default="open")
    priority = Varchar(length=10, default="medium")
    category = Varchar(length=60, default="general")
    tags = Array(base_column=Varchar(length=40), default=list)
    team = Varchar(length=60, default="support")  # the team queue it waits in
    contact_id = ForeignKey(references=Contact, on_delete=OnDelete.set_null, null=True)
    customer_email = Varchar(length=254, null=True, default=None)
    customer_name = Varchar(length=200, null=True, default=None)
    assigned_to = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_by = BigInt(null=True, default=None)
    sentiment = Varchar(length=10, null=True, default=None)
    sentiment_score = Real(null=True, default=None)
    urgency = Varchar(length=10, null=True, default=None)
    first_response_due_at = Timestamptz(null=True, default=None)
    resolution_due_at = Timestamptz(null=True, default=None)
    first_responded_at = Timestamptz(null=True, default=None)
    resolved_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    sla_pauses = JSONB(default="[]")
    next_due_at = Timestamptz(null=True, default=None)  # the sooner of the clocks still running: the queue's order
    first_response_breached_at = Timestamptz(null=True, default=None)
    resolution_breached_at = Timestamptz(null=True, default=None)
    last_customer_reply_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TicketComment(Table, tablename="ticket_comment"):
    """A message on a ticket: a public reply (the customer sees it) or an internal note (only the team does).
    `author_type` says whether the team or the customer wrote it."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    ticket_id = ForeignKey(references=Ticket, on_delete=OnDelete.cascade, null=False)
    content = Text()
    is_internal = Boolean(default=False)
    author_type = Varchar(length=10, default="staff")
    author_id = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    author_name = Varchar(length=200, default="")
    sentiment = Varchar(length=10, null=True, default=None)
    sentiment_score = Real(null=True, default=None)
    emailed_at = Timestamptz(null=True, default=None)  # a public reply mailed to the requester (once: the job checks it)
    created_at = Timestamptz(default=TimestamptzNow())


class SlaPolicy(Table, tablename="sla_policy"):
    """The tenant's targets for one priority, in business minutes (a priority without a row uses the defaults);
    optionally only for one category and/or team queue (the most specific policy matching a ticket wins)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    priority = Varchar(length=10)
    category = Varchar(length=60, null=True, default=None)
    team = Varchar(length=60, null=True, default=None)
    first_response_minutes = Integer()
    resolution_minutes = Integer()
    updated_at = Timestamptz(default=TimestamptzNow())


class CannedReply(Table, tablename="canned_reply"):
    """A saved reply the team inserts into a ticket's answer: shared by the tenant, with placeholders
    (`{{ customer_name }}`, `{{ ticket_id }}`, `{{ agent_name }}`…) rendered in a Jinja2 sandbox."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    title = Varchar(length=120)
    body = Text()
    category = Varchar(length=60, null=True, default=None)
    created_by = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class BusinessCalendar(Table, tablename="business_calendar"):
    """When the tenant's support desk works: ISO weekdays, opening hours (in the tenant's time zone) and whose
    public holidays it keeps (a country code and optional subdivision of the `holidays` library)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False, unique=True)
    work_days = Array(base_column=Integer(), default=[1, 2, 3, 4, 5])
    opens_at = Time()
    closes_at = Time()
    holiday_country = Varchar(length=3, null=True, default=None)
    holiday_subdivision = Varchar(length=10, null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())


class KbArticle(Table, tablename="kb_article"):
    """A knowledge-base article: a sanitised HTML body, its plain text for search (a generated tsvector column and
    GIN index are added by the migration), draft or published."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    title = Varchar(length=200)
    content = Text(default="")
    body_text = Text(default="")
    category = Varchar(length=60, default="general")
    tags = Array(base_column=Varchar(length=40), default=list)
    status = Varchar(length=10, default="published")
    author_id = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
