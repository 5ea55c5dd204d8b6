"""JSON API: the audit log."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from app.audit import service
from app.audit.schemas import AuditPage
from app.db import TenantScope
from app.web.auth import requires
from app.web.pagination import ListQuery


class AuditLogController(Controller):
    """Security-relevant events of the tenant, for admins."""

    path = "/v2/audit-log"
    tags = ["Audit log"]
    guards = [requires("admin")]

    @get("/", operation_id="listAuditLog", summary="List audit log entries")
    async def list_entries(
        self,
        tenant: TenantScope,
        list_query: ListQuery,
        action: Annotated[str | None, Parameter(description="Only this action, e.g. `api_key.created`")] = None,
    ) -> AuditPage:
        """Newest first by default (`sort=-created_at`)."""
        return await service.list_events(tenant, list_query, action=action)
