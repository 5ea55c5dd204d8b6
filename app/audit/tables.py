"""The audit log: who did what, when, from where."""

from __future__ import annotations

from piccolo.columns import JSONB, BigInt, BigSerial, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tenancy.tables import Tenant


class AuditLog(Table, tablename="audit_log"):
    """One security-relevant event (login, key and role changes, exports, deletes)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False, index=True)
    actor_user_id = BigInt(null=True, default=None)
    actor = Varchar(length=254, default="")
    action = Varchar(length=60, index=True)
    target_type = Varchar(length=40, default="")
    target_id = Varchar(length=64, default="")
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=300, default="")
    details = JSONB(default={})
    created_at = Timestamptz(default=TimestamptzNow())
