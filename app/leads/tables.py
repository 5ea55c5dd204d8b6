"""Leads and their timeline."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    Array,
    BigInt,
    BigSerial,
    Boolean,
    Bytea,
    DoublePrecision,
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


class Lead(Table, tablename="lead"):
    """A prospective buyer, renter or seller (fields of the ArtinSmartRealty guide §3.1)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=200)
    phone = Varchar(length=32, null=True, default=None)
    email = Varchar(length=254, null=True, default=None)
    source = Varchar(length=50, default="manual")
    telegram_username = Varchar(length=100, null=True, default=None)
    telegram_chat_id = Varchar(length=100, null=True, default=None)
    language = Varchar(length=10, default="en")
    status = Varchar(length=30, default="NEW")
    budget_min = Numeric(digits=(16, 2), null=True, default=None)
    budget_max = Numeric(digits=(16, 2), null=True, default=None)
    budget_currency = Varchar(length=3, default="AED")
    transaction_type = Varchar(length=10, null=True, default=None)
    property_type = Varchar(length=20, null=True, default=None)
    purpose = Varchar(length=20, null=True, default=None)
    bedrooms_min = Integer(null=True, default=None)
    bedrooms_max = Integer(null=True, default=None)
    payment_method = Varchar(length=20, null=True, default=None)
    preferred_location = Varchar(length=200, null=True, default=None)
    preferred_locations = Array(base_column=Varchar(length=200), default=list)
    hotness_score = Integer(default=0)
    temperature = Varchar(length=10, default="cold")
    score_factors = JSONB(default={})
    score_confidence = DoublePrecision(default=0.0)
    urgency_score = Integer(null=True, default=None)
    conversation_state = Varchar(length=40, null=True, default=None)
    message_count = Integer(default=0)
    voice_messages_sent = Integer(default=0)
    images_uploaded = Integer(default=0)
    qualification_duration_seconds = Integer(null=True, default=None)
    pain_point = Varchar(length=100, null=True, default=None)
    voice_transcript = Text(null=True, default=None)
    conversation_data = JSONB(default={})
    custom_fields = JSONB(default={})
    notes = Text(default="")
    agent_id = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    contact_id = BigInt(null=True, default=None)  # contact.id (a foreign key in the migration)
    company_id = BigInt(null=True, default=None)  # company.id (a foreign key in the migration)
    campaign_id = BigInt(null=True, default=None)  # campaign.id (a foreign key in the migration)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    last_interaction = Timestamptz(null=True, default=None)
    ghost_reminder_sent = Boolean(default=False)
    deleted_at = Timestamptz(null=True, default=None)


class LeadCounter(Table, tablename="lead_counter"):
    """Live leads per tenant and status, kept by triggers in the same transaction as every change."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    status = Varchar(length=30)
    live = BigInt(default=0)


class ExportJob(Table, tablename="export_job"):
    """An Excel export built in the background (large views), kept for download by any web process.

    Its status and progress are the job's (app.jobs.progress, kind "export")."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    format = Varchar(length=10, default="xlsx")
    filters = JSONB(default={})
    columns = JSONB(default=[])
    filename = Varchar(length=100, default="")
    content = Bytea(null=True, default=None)
    created_by = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class LeadBulkOperation(Table, tablename="lead_bulk_operation"):
    """A bulk action over every lead matching a list's filters ("select all N matching"), run in the background.

    The selection is frozen when it is asked for: the filters, and leads up to `upto_id` (leads created later are
    not swept in). `last_id` is how far the job got (each batch commits it with its changes), so a retry resumes.
    Its status and progress are the job's (app.jobs.progress, kind "lead_bulk")."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    action = Varchar(length=20)  # assign | delete
    agent_id = BigInt(null=True, default=None)  # assign: to whom (null: unassign)
    filters = JSONB(default={})
    upto_id = BigInt(default=0)
    last_id = BigInt(default=0)
    changed = Integer(default=0)
    skipped = Integer(default=0)  # already so, or not the requester's to change
    created_by = BigInt(null=True, default=None)
    actor = Varchar(length=200, default="")
    created_at = Timestamptz(default=TimestamptzNow())
