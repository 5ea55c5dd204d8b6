"""The dashboard and the placeholders of screens later domains fill in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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

# Another domain's start page for some people (My day for agents, app.activities): it renders the page, or None when
# the person starts on the dashboard. The dashboard cannot import that domain, which comes after it.
StartPage = Callable[[Request[Any, Any, Any], TenantScope], Awaitable[Template | None]]
_start_page: list[StartPage] = []


def provide_start_page(start: StartPage) -> None:
    """Let a domain give some people another start page than the dashboard (the dashboard stays at /dashboard)."""
    _start_page[:] = [start]


async def _dashboard(request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
    org = await accounts.get_tenant(tenant)
    team_size = await accounts.team_size(tenant)
    recent = await audit.list_events(tenant, ListQuery(limit=8)) if audit_policy.VIEW.allows(tenant) else None
    counts = await leads.status_counts(tenant)
    context = {"active": "dashboard", "org": org, "team_size": team_size, "recent": recent, "leads": counts}
    return render(request, "dashboard.html", context)


class DashboardController(Controller):
    """The start page."""

    include_in_schema = False
    guards = [guard()]

    @get("/")
    async def start(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """The person's start page: My day for agents (when installed), else the dashboard."""
        for start in _start_page:
            page = await start(request, tenant)
            if page is not None:
                return page
        return await _dashboard(request, tenant)

    @get("/dashboard")
    async def dashboard(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Team, plan, leads and (for those who may read the audit log) recent activity at a glance."""
        return await _dashboard(request, tenant)

    @get("/{section:str}")
    async def coming_soon(self, request: Request[Any, Any, Any], section: str) -> Template:
        """An honest placeholder for a screen that is not built yet."""
        entry = next((e for e in request.app.state.nav if e.key == section and e.placeholder is not None), None)
        if entry is None:
            raise NotFoundException()
        return render(request, "coming_soon.html", {"active": section, "title": entry.label, "summary": entry.placeholder})
