"""JSON API: the audit log."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from app.audit import policy, service
from app.audit.schemas import AuditEntry
from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.web.auth import guard
from app.web.deps import DAY_OR_INSTANT, parse_instant


class AuditLogController(Controller):
    """Security-relevant events of the tenant, for admins."""

    path = "/v2/audit-log"
    opt = resource_opt("audit")  # its scopes: audit:read, audit:write
    tags = ["Audit log"]
    guards = [guard(policy.VIEW)]

    @get("/", operation_id="listAuditLog", summary="List audit log entries", opt={SORTS_OPT: service.SORTS})
    async def list_entries(
        self,
        tenant: TenantScope,
        list_query: ListQuery,
        action: Annotated[str | None, Parameter(description="Only this action, e.g. `api_key.created`")] = None,
    ) -> Page[AuditEntry]:
        """Newest first by default (`sort=-created_at`)."""
        return await service.list_events(tenant, list_query, action=action)


class SecurityController(Controller):
    """The enterprise guide's security endpoints."""

    path = "/v2/security"
    opt = resource_opt("audit")  # its scopes: audit:read, audit:write
    tags = ["Audit log"]
    guards = [guard(policy.VIEW)]

    @get("/audit-log", operation_id="getSecurityAuditLog", summary="Security audit log (enterprise guide)", opt={SORTS_OPT: service.SORTS})
    async def audit_log(
        self,
        tenant: TenantScope,
        list_query: ListQuery,
        start_date: Annotated[
            str | None,
            Parameter(max_length=40, description="RFC 3339 date or date-time, the start (inclusive)", schema_extra=DAY_OR_INSTANT),
        ] = None,
        end_date: Annotated[
            str | None,
            Parameter(max_length=40, description="RFC 3339 date (the whole day) or date-time, the end", schema_extra=DAY_OR_INSTANT),
        ] = None,
        event_type: Annotated[str | None, Parameter(max_length=60, description="Only this event type, e.g. `auth.login`")] = None,
    ) -> Page[AuditEntry]:
        """The audit log as `GET /v2/audit-log`, filtered the enterprise guide's way. Newest first."""
        since, until = parse_instant("start_date", start_date, days=True), parse_instant("end_date", end_date, days=True, end=True)
        return await service.list_events(tenant, list_query, action=event_type, since=since, until=until)
