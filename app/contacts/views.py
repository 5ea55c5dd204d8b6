"""Browser UI for contacts and companies."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from app.contacts import policy, schemas, service
from app.core.errors import DomainError
from app.core.pagination import ListQuery
from app.core.validation import convert_input
from app.db import TenantScope
from app.leads import service as leads
from app.settings import Settings
from app.web.auth import guard
from app.web.ui import Form, clean_form, form_errors, refusal_stays_on_page, render, targets

PAGE_SIZE = 25


def _form(data: dict[str, str]) -> dict[str, Any]:
    return {k: v.strip() for k, v in clean_form(data).items() if v.strip()}


class ContactPagesController(Controller):
    """Contacts and companies screens."""

    include_in_schema = False
    guards = [guard(policy.VIEW)]

    async def _contacts(self, request: Request[Any, Any, Any], tenant: TenantScope, q: str, offset: int, **extra: Any) -> Template:
        page = await service.list_contacts(tenant, ListQuery(limit=PAGE_SIZE, offset=offset), q=q or None)
        companies = await service.list_companies(tenant, ListQuery(limit=100))
        ctx = {"active": "contacts", "tab": "contacts", "page": page, "q": q, "companies": companies.data, "form": {}, "errors": {}}
        ctx.update(extra)
        block = "results" if targets(request, "contact-results") else "content"
        return render(request, "contacts/index.html", ctx, block=block, status_code=422 if extra.get("errors") else 200)

    @get("/contacts")
    async def contacts(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        q: Annotated[str, Parameter(max_length=100)] = "",
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> Template:
        """Contacts with search as you type."""
        return await self._contacts(request, tenant, q, offset)

    @post("/contacts")
    async def create_contact(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Add a contact; errors inline, nothing created."""
        try:
            contact = await service.create_contact(tenant, convert_input(_form(data), schemas.ContactCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._contacts(request, tenant, "", 0, form=clean_form(data), errors=form_errors(exc))
        return Redirect(path=f"/contacts/{contact.id}", status_code=303)

    @get("/contacts/{contact_id:int}")
    async def contact(self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, contact_id: int) -> Template:
        """A contact, its leads and its activity."""
        contact = await service.get_contact(tenant, contact_id)
        ctx = {
            "active": "contacts",
            "contact": contact,
            "activity": await service.contact_activities(tenant, contact_id, ListQuery(limit=50)),
            "leads": await leads.list_leads(tenant, leads.LeadFilters(contact_id=contact_id), ListQuery(limit=50), settings.base_url),
        }
        return render(request, "contacts/detail.html", ctx)

    @get("/companies")
    async def companies(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        q: Annotated[str, Parameter(max_length=100)] = "",
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> Template:
        """Companies with search as you type."""
        return await self._companies(request, tenant, q, offset)

    async def _companies(self, request: Request[Any, Any, Any], tenant: TenantScope, q: str, offset: int, **extra: Any) -> Template:
        page = await service.list_companies(tenant, ListQuery(limit=PAGE_SIZE, offset=offset), q=q or None)
        ctx = {
            "active": "contacts",
            "tab": "companies",
            "page": page,
            "q": q,
            "form": {},
            "errors": {},
        }
        ctx.update(extra)
        block = "results" if targets(request, "company-results") else "content"
        return render(request, "contacts/companies.html", ctx, block=block, status_code=422 if extra.get("errors") else 200)

    @post("/companies")
    async def create_company(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Add a company; errors inline, nothing created."""
        try:
            company = await service.create_company(tenant, convert_input(_form(data), schemas.CompanyCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._companies(request, tenant, "", 0, form=clean_form(data), errors=form_errors(exc))
        return Redirect(path=f"/companies/{company.id}", status_code=303)

    @get("/companies/{company_id:int}")
    async def company(self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, company_id: int) -> Template:
        """A company, its contacts and its leads."""
        ctx = {
            "active": "contacts",
            "company": await service.get_company(tenant, company_id),
            "contacts": await service.list_contacts(tenant, ListQuery(limit=100), company_id=company_id),
            "leads": await leads.list_leads(tenant, leads.LeadFilters(company_id=company_id), ListQuery(limit=50), settings.base_url),
        }
        return render(request, "contacts/company.html", ctx)
