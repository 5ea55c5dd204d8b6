"""Webhook endpoints, their deliveries and every attempt, and the per-tenant delivery slots."""

from __future__ import annotations

from piccolo.columns import JSONB, Array, BigInt, BigSerial, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tenancy.tables import Tenant


class WebhookEndpoint(Table, tablename="webhook_endpoint"):
    """A receiver of a tenant's events (§2.2 of the ArtinSmartRealty guide)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    url = Varchar(length=2000)
    description = Varchar(length=200, default="")
    events = Array(base_column=Varchar(length=60), default=list)
    secret_key = Varchar(length=200, secret=True)
    previous_secret_key = Varchar(length=200, null=True, default=None, secret=True)
    previous_secret_expires_at = Timestamptz(null=True, default=None)
    max_retries = Integer(default=3)
    retry_delay_seconds = Integer(default=60)
    active = Boolean(default=True)
    disabled_reason = Varchar(length=300, null=True, default=None)
    created_by = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class WebhookDelivery(Table, tablename="webhook_delivery"):
    """One event for one endpoint: its exact body (signed and resent as is) and where it stands.

    status: pending → sending → delivered | pending (a retry at next_attempt_at) | failed (retries exhausted)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    endpoint_id = ForeignKey(references=WebhookEndpoint, on_delete=OnDelete.cascade, null=False)
    delivery_key = Varchar(length=40, unique=True)
    event_id = BigInt(null=True, default=None)
    event_type = Varchar(length=60)
    ordering_key = Varchar(length=80, default="")
    body = Text()
    status = Varchar(length=12, default="pending")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    lease_until = Timestamptz(null=True, default=None)
    last_status_code = Integer(null=True, default=None)
    last_error = Text(default="")
    is_test = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    delivered_at = Timestamptz(null=True, default=None)
    failed_at = Timestamptz(null=True, default=None)


class WebhookAttempt(Table, tablename="webhook_attempt"):
    """One try of a delivery: what was sent and what came back (the response cut at 2 KB)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    delivery_id = ForeignKey(references=WebhookDelivery, on_delete=OnDelete.cascade, null=False)
    attempt = Integer()
    url = Varchar(length=2000, default="")
    request_headers = JSONB(default={})
    status_code = Integer(null=True, default=None)
    response_headers = JSONB(default={})
    response_excerpt = Text(default="")
    error = Text(default="")
    duration_ms = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookSlot(Table, tablename="webhook_slot"):
    """One of a tenant's concurrent-delivery slots (10 each), leased while a request is in flight."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    slot = Integer()
    delivery_id = BigInt(null=True, default=None)
    leased_until = Timestamptz(default=TimestamptzNow())
