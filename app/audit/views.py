"""Screens of the audit log."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Template

from app.audit import policy, service
from app.core.pagination import ListQuery
from app.db import TenantScope
from app.web.auth import guard
from app.web.ui import render, targets

PAGE_SIZE = 25


class AuditPagesController(Controller):
    """Settings: the audit log."""

    path = "/settings/audit-log"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    @get("/")
    async def audit_log(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        offset: Annotated[int, Parameter(ge=0)] = 0,
        action: Annotated[str | None, Parameter(max_length=60)] = None,
    ) -> Template:
        """Newest first, paginated; the page state lives in the URL."""
        entries = await service.list_events(tenant, ListQuery(limit=PAGE_SIZE, offset=offset), action=action or None)
        params = {"action": action} if action else {}
        return render(
            request,
            "settings/audit_log.html",
            {"active": "settings", "tab": "audit-log", "entries": entries, "action": action or "", "query": urlencode(params)},
            # Typing in the filter swaps only the results, so the field keeps its focus and what was typed.
            block="results" if targets(request, "audit-results") else "content",
            push_url=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        )
