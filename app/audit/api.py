"""JSON API: the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from app.audit import policy, service
from app.audit.schemas import AuditEntry
from app.core.errors import ValidationFailed
from app.core.pagination import ListQuery, Page
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.web.auth import guard


class AuditLogController(Controller):
    """Security-relevant events of the tenant, for admins."""

    path = "/v2/audit-log"
    opt = resource_opt("audit")  # its scopes: audit:read, audit:write
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


def _moment(name: str, raw: str | None, *, end: bool = False) -> datetime | None:
    """An ISO 8601 date or time; a bare date means its start (or, as an end, the start of the next day), in UTC."""
    if raw is None:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + (timedelta(days=1) if end else timedelta())
        else:
            moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            f"Invalid {name}: not an ISO 8601 date or time",
            details={"field": name, "provided": raw, "expected": "an ISO 8601 date or time, like 2026-12-01 or 2026-12-01T09:30:00Z"},
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SecurityController(Controller):
    """The enterprise guide's security endpoints."""

    path = "/v2/security"
    opt = resource_opt("audit")  # its scopes: audit:read, audit:write
    tags = ["Audit log"]
    guards = [guard(policy.VIEW)]

    @get("/audit-log", operation_id="getSecurityAuditLog", summary="Security audit log (enterprise guide)")
    async def audit_log(
        self,
        tenant: TenantScope,
        list_query: ListQuery,
        start_date: Annotated[str | None, Parameter(max_length=40, description="ISO 8601 start (inclusive)")] = None,
        end_date: Annotated[str | None, Parameter(max_length=40, description="ISO 8601 end (a bare date: the whole day)")] = None,
        event_type: Annotated[str | None, Parameter(max_length=60, description="Only this event type, e.g. `auth.login`")] = None,
    ) -> Page[AuditEntry]:
        """The audit log as `GET /v2/audit-log`, filtered the enterprise guide's way. Newest first."""
        since, until = _moment("start_date", start_date), _moment("end_date", end_date, end=True)
        return await service.list_events(tenant, list_query, action=event_type, since=since, until=until)
