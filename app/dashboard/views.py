"""The dashboard and the placeholders of screens later domains fill in."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from app.accounts import service as accounts
from app.audit import policy as audit_policy
from app.audit import service as audit
from app.core.pagination import ListQuery
from app.db import TenantScope
from app.leads import service as leads
from app.web.auth import guard
from app.web.ui import render


class DashboardController(Controller):
    """The start page."""

    include_in_schema = False
    guards = [guard()]

    @get("/")
    async def dashboard(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Team, plan, leads and (for those who may read the audit log) recent activity at a glance."""
        org = await accounts.get_tenant(tenant)
        team_size = await accounts.team_size(tenant)
        recent = await audit.list_events(tenant, ListQuery(limit=8)) if audit_policy.VIEW.allows(tenant) else None
        counts = await leads.status_counts(tenant)
        context = {"active": "dashboard", "org": org, "team_size": team_size, "recent": recent, "leads": counts}
        return render(request, "dashboard.html", context)

    @get("/{section:str}")
    async def coming_soon(self, request: Request[Any, Any, Any], section: str) -> Template:
        """An honest placeholder for a screen that is not built yet."""
        entry = next((e for e in request.app.state.nav if e.key == section and e.placeholder is not None), None)
        if entry is None:
            raise NotFoundException()
        return render(request, "coming_soon.html", {"active": section, "title": entry.label, "summary": entry.placeholder})
