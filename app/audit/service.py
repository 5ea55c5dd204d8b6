"""Writing and reading the audit log, always within one tenant."""

from __future__ import annotations

import json
from typing import Any

from app.audit import policy
from app.audit.schemas import AuditEntry
from app.audit.tables import AuditLog
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.db import TenantScope, tenant_transaction

SORTS = {"created_at": "created_at", "action": "action"}


async def record_event(
    scope: TenantScope, action: str, *, target_type: str = "", target_id: object = "", details: dict[str, Any] | None = None
) -> None:
    """Append an entry (joins the caller's transaction when there is one)."""
    async with tenant_transaction(scope.tenant_id):
        await AuditLog.insert(
            AuditLog(
                tenant_id=scope.tenant_id,
                actor_user_id=scope.user_id,
                actor=scope.actor[:254],
                action=action,
                target_type=target_type,
                target_id=str(target_id),
                ip=scope.ip[:64],
                user_agent=scope.user_agent[:300],
                details=details or {},
            )
        )


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
