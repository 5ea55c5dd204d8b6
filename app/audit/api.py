"""JSON API: the audit log."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from app.audit import policy, service
from app.audit.schemas import AuditEntry
from app.core.pagination import ListQuery, Page
from app.db import TenantScope
from app.web.auth import guard


class AuditLogController(Controller):
    """Security-relevant events of the tenant, for admins."""

    path = "/v2/audit-log"
    tags = ["Audit log"]
    guards = [guard(policy.VIEW)]

    @get("/", operation_id="listAuditLog", summary="List audit log entries")
    async def list_entries(
        self,
        tenant: TenantScope,
        list_query: ListQuery,
        action: Annotated[str | None, Parameter(description="Only this action, e.g. `api_key.created`")] = None,
    ) -> Page[AuditEntry]:
        """Newest first by default (`sort=-created_at`)."""
        return await service.list_events(tenant, list_query, action=action)
