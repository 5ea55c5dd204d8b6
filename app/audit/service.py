"""Reading the audit log, always within one tenant (entries are written by app.events.service.emit)."""

from __future__ import annotations

import json

from app.audit import policy
from app.audit.schemas import AuditEntry
from app.audit.tables import AuditLog
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.db import TenantScope, tenant_transaction

SORTS = {"created_at": "created_at", "action": "action"}


async def list_events(scope: TenantScope, query: ListQuery, action: str | None = None) -> Page[AuditEntry]:
    """A page of the tenant's audit log, optionally for one action."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        select = AuditLog.select().where(AuditLog.tenant_id == scope.tenant_id)
        count = AuditLog.count().where(AuditLog.tenant_id == scope.tenant_id)
        if action:
            select = select.where(AuditLog.action == action)
            count = count.where(AuditLog.action == action)
        select = sort_order(query.sort, SORTS, "-created_at").apply(select)
        rows = await select.limit(query.limit).offset(query.offset)
        total = await count
    for row in rows:
        if isinstance(row["details"], str):
            row["details"] = json.loads(row["details"])
    return page_of(AuditEntry, rows, query, total)
