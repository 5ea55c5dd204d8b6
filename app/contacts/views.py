"""Browser UI for contacts and companies."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from app.contacts import schemas, service
from app.leads import service as leads
from app.settings import Settings
from app.ui.views import Form, clean_form, form_errors, tenant_of, ui_requires
from app.web.errors import ApiError
from app.web.htmx import render
from app.web.pagination import ListQuery

PAGE_SIZE = 25


def _form(data: dict[str, str]) -> dict[str, Any]:
    return {k: v.strip() for k, v in clean_form(data).items() if v.strip()}


class ContactPagesController(Controller):
    """Contacts and companies screens."""

    include_in_schema = False
    guards = [ui_requires()]

    async def _contacts(self, request: Request[Any, Any, Any], q: str, offset: int, **extra: Any) -> Template:
        tenant = tenant_of(request)
        page = await service.list_contacts(tenant, ListQuery(limit=PAGE_SIZE, offset=offset), q=q or None)
        companies = await service.list_companies(tenant, ListQuery(limit=100))
        ctx = {"active": "contacts", "tab": "contacts", "page": page, "q": q, "companies": companies.data, "form": {}, "errors": {}}
        ctx.update(can_write=tenant.role in service.WRITERS, **extra)
        block = "results" if request.headers.get("hx-target") == "contact-results" else "content"
        return render(request, "contacts/index.html", ctx, block=block, status_code=422 if extra.get("errors") else 200)

    @get("/contacts")
    async def contacts(
        self,
        request: Request[Any, Any, Any],
        q: Annotated[str, Parameter(max_length=100)] = "",
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> Template:
        """Contacts with search as you type."""
        return await self._contacts(request, q, offset)

    @post("/contacts")
    async def create_contact(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        """Add a contact; errors inline, nothing created."""
        try:
            contact = await service.create_contact(tenant_of(request), msgspec.convert(_form(data), schemas.ContactCreate, strict=False))
        except (msgspec.ValidationError, ApiError) as exc:
            if getattr(exc, "status_code", 422) in (403, 404):
                raise
            return await self._contacts(request, "", 0, form=clean_form(data), errors=form_errors(exc))
        return Redirect(path=f"/contacts/{contact.id}", status_code=303)

    @get("/contacts/{contact_id:int}")
    async def contact(self, request: Request[Any, Any, Any], settings: Settings, contact_id: int) -> Template:
        """A contact, its leads and its activity."""
        tenant = tenant_of(request)
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
        q: Annotated[str, Parameter(max_length=100)] = "",
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> Template:
        """Companies with search as you type."""
        return await self._companies(request, q, offset)

    async def _companies(self, request: Request[Any, Any, Any], q: str, offset: int, **extra: Any) -> Template:
        tenant = tenant_of(request)
        page = await service.list_companies(tenant, ListQuery(limit=PAGE_SIZE, offset=offset), q=q or None)
        ctx = {
            "active": "contacts",
            "tab": "companies",
            "page": page,
            "q": q,
            "form": {},
            "errors": {},
            "can_write": tenant.role in service.WRITERS,
        }
        ctx.update(extra)
        block = "results" if request.headers.get("hx-target") == "company-results" else "content"
        return render(request, "contacts/companies.html", ctx, block=block, status_code=422 if extra.get("errors") else 200)

    @post("/companies")
    async def create_company(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        """Add a company; errors inline, nothing created."""
        try:
            company = await service.create_company(tenant_of(request), msgspec.convert(_form(data), schemas.CompanyCreate, strict=False))
        except (msgspec.ValidationError, ApiError) as exc:
            if getattr(exc, "status_code", 422) in (403, 404):
                raise
            return await self._companies(request, "", 0, form=clean_form(data), errors=form_errors(exc))
        return Redirect(path=f"/companies/{company.id}", status_code=303)

    @get("/companies/{company_id:int}")
    async def company(self, request: Request[Any, Any, Any], settings: Settings, company_id: int) -> Template:
        """A company, its contacts and its leads."""
        tenant = tenant_of(request)
        ctx = {
            "active": "contacts",
            "company": await service.get_company(tenant, company_id),
            "contacts": await service.list_contacts(tenant, ListQuery(limit=100), company_id=company_id),
            "leads": await leads.list_leads(tenant, leads.LeadFilters(company_id=company_id), ListQuery(limit=50), settings.base_url),
        }
        return render(request, "contacts/company.html", ctx)
