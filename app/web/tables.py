"""State the HTTP layer shares across processes: rate-limit buckets and idempotency records."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    BigSerial,
    Boolean,
    Bytea,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tenancy.tables import Tenant


class RateLimitBucket(Table, tablename="rate_limit_bucket"):
    """A token bucket per caller (tenant + credential, or client address before login)."""

    id = BigSerial(primary_key=True)
    bucket = Varchar(length=120, unique=True)
    tokens = DoublePrecision()
    allowed = Boolean(default=True)
    granted = Integer(default=0)  # tokens the last request took (1, or a process's lease)
    updated_at = Timestamptz(default=TimestamptzNow())


class IdempotencyRecord(Table, tablename="idempotency_record"):
    """The first response to a POST with an Idempotency-Key, replayed for 24 hours."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    key = Varchar(length=255)
    request_hash = Varchar(length=64)
    status = Varchar(length=12, default="running")
    response_status = Integer(null=True, default=None)
    response_headers = JSONB(default=[])
    response_body = Bytea(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
