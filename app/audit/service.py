"""Reading the audit log, always within one tenant (entries are written by app.events.service.emit)."""

from __future__ import annotations

import json
from datetime import datetime

from app.audit import policy
from app.audit.schemas import AuditEntry
from app.audit.tables import AuditLog
from app.core.errors import ValidationFailed
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.db import TenantScope, tenant_transaction

SORTS = {"created_at": "created_at", "action": "action"}


async def list_events(
    scope: TenantScope, query: ListQuery, action: str | None = None, *, since: datetime | None = None, until: datetime | None = None
) -> Page[AuditEntry]:
    """A page of the tenant's audit log, optionally for one action and a time range (`since` ≤ time < `until`)."""
    policy.VIEW.require(scope)
    if since is not None and until is not None and since >= until:
        raise ValidationFailed(
            "Invalid start_date: it must be before end_date",
            # `reason`: each date is valid alone; only the pair breaks the rule (no JSON Schema compares two parameters).
            details={"field": "start_date", "provided": since.isoformat(), "expected": "a time before end_date", "reason": "range"},
        )
    async with tenant_transaction(scope.tenant_id):
        select = AuditLog.select().where(AuditLog.tenant_id == scope.tenant_id)
        count = AuditLog.count().where(AuditLog.tenant_id == scope.tenant_id)
        for condition in (
            AuditLog.action == action if action else None,
            AuditLog.created_at >= since if since else None,
            AuditLog.created_at < until if until else None,
        ):
            if condition is not None:
                select, count = select.where(condition), count.where(condition)
        select = sort_order(query.sort, SORTS, "-created_at").apply(select)
        rows = await select.limit(query.limit).offset(query.offset)
        total = await count
    for row in rows:
        if isinstance(row["details"], str):
            row["details"] = json.loads(row["details"])
    return page_of(AuditEntry, rows, query, total)
