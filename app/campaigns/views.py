"""The campaigns screen: each campaign's leads, cost per lead, won leads and revenue; admins and managers add one."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Template

from app.campaigns import policy, schemas, service
from app.core.errors import DomainError
from app.core.pagination import ListQuery
from app.core.validation import convert_input
from app.db import TenantScope
from app.web.auth import guard
from app.web.ui import Form, clean_form, form_errors, refusal_stays_on_page, render


class CampaignPagesController(Controller):
    """Campaigns."""

    path = "/campaigns"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    async def _page(
        self, request: Request[Any, Any, Any], tenant: TenantScope, form: dict[str, str] | None = None, errors: dict[str, str] | None = None
    ) -> Template:
        campaigns = await service.list_campaigns(tenant, ListQuery(limit=100))
        ctx = {"active": "campaigns", "campaigns": campaigns, "form": form or {}, "errors": errors or {}}
        return render(request, "campaigns/index.html", ctx, block="campaigns", status_code=422 if errors else 200)

    @get("/")
    async def index(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Every campaign with its numbers."""
        return await self._page(request, tenant)

    @post("/", guards=[guard(policy.CREATE)])
    async def create(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template:
        """Add a campaign; errors next to the fields, nothing created."""
        form = clean_form(data)
        values = {k: v.strip() for k, v in form.items() if v.strip()}
        try:
            await service.create_campaign(tenant, convert_input(values, schemas.CampaignCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._page(request, tenant, form, form_errors(exc))
        return await self._page(request, tenant)
