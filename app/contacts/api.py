"""JSON API: contacts and companies, their activity and their leads."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from app.contacts import policy, schemas, service
from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.events.schemas import TimelineEntry
from app.leads import service as leads
from app.leads.schemas import LeadSummary
from app.settings import Settings
from app.web.auth import guard
from app.web.etag import IfMatch
from app.web.json import ApiResponse

Search = Annotated[str | None, Parameter(max_length=100, description="Search in name, e-mail and phone (companies: name and domain)")]


class ContactController(Controller):
    """Contacts of the tenant."""

    path = "/v2/contacts"
    opt = resource_opt("contacts")  # its scopes: contacts:read, contacts:write
    tags = ["Contacts"]

    @get(
        "/",
        operation_id="listContacts",
        summary="List and search contacts",
        guards=[guard(policy.VIEW)],
        opt={SORTS_OPT: service.CONTACT_SORTS},
    )
    async def list_contacts(
        self,
        tenant: TenantScope,
        list_query: ListQuery,
        q: Search = None,
        company_id: Annotated[int | None, Parameter(description="Only this company's contacts")] = None,
    ) -> Page[schemas.Contact]:
        """Sortable by `name` (default), `created_at`, `updated_at`."""
        return await service.list_contacts(tenant, list_query, q=q, company_id=company_id)

    @post("/", operation_id="createContact", summary="Create a contact", guards=[guard(policy.EDIT)], status_code=201)
    async def create_contact(self, tenant: TenantScope, data: schemas.ContactCreate) -> ApiResponse[schemas.Contact]:
        """An e-mail already used by a contact of the tenant answers 409 naming it."""
        contact = await service.create_contact(tenant, data)
        return ApiResponse(contact, status_code=201, headers={"Location": f"/v2/contacts/{contact.id}"})

    @get("/{contact_id:int}", operation_id="getContact", summary="Get a contact", guards=[guard(policy.VIEW)])
    async def get_contact(self, tenant: TenantScope, contact_id: int) -> schemas.Contact:
        """404 for other tenants' ids."""
        return await service.get_contact(tenant, contact_id)

    @patch("/{contact_id:int}", operation_id="updateContact", summary="Update a contact", guards=[guard(policy.EDIT)])
    async def update_contact(
        self, tenant: TenantScope, contact_id: int, data: schemas.ContactUpdate, if_match: IfMatch = None
    ) -> schemas.Contact:
        """Honours `If-Match`."""
        return await service.update_contact(tenant, contact_id, data, if_match=if_match)

    @delete("/{contact_id:int}", operation_id="deleteContact", summary="Delete a contact", guards=[guard(policy.DELETE)])
    async def delete_contact(self, tenant: TenantScope, contact_id: int) -> None:
        """Its leads stay, unlinked. Audited."""
        await service.delete_contact(tenant, contact_id)

    @get("/{contact_id:int}/activities", operation_id="getContactActivities", summary="A contact's activity", guards=[guard(policy.VIEW)])
    async def activities(self, tenant: TenantScope, list_query: ListQuery, contact_id: int) -> Page[TimelineEntry]:
        """The contact's own changes and its leads' timelines, newest first."""
        return await service.contact_activities(tenant, contact_id, list_query)

    @get(
        "/{contact_id:int}/leads",
        operation_id="getContactLeads",
        summary="A contact's leads",
        guards=[guard(policy.VIEW)],
        opt={SORTS_OPT: leads.SORTS},
    )
    async def contact_leads(self, tenant: TenantScope, list_query: ListQuery, settings: Settings, contact_id: int) -> Page[LeadSummary]:
        """Leads linked to the contact."""
        await service.get_contact(tenant, contact_id)
        return await leads.list_leads(tenant, leads.LeadFilters(contact_id=contact_id), list_query, settings.base_url)


class CompanyController(Controller):
    """Companies of the tenant."""

    path = "/v2/companies"
    opt = resource_opt("companies")  # its scopes: companies:read, companies:write
    tags = ["Contacts"]

    @get(
        "/",
        operation_id="listCompanies",
        summary="List and search companies",
        guards=[guard(policy.VIEW)],
        opt={SORTS_OPT: service.COMPANY_SORTS},
    )
    async def list_companies(self, tenant: TenantScope, list_query: ListQuery, q: Search = None) -> Page[schemas.Company]:
        """Sortable by `name` (default), `created_at`, `updated_at`."""
        return await service.list_companies(tenant, list_query, q=q)

    @post("/", operation_id="createCompany", summary="Create a company", guards=[guard(policy.EDIT)], status_code=201)
    async def create_company(self, tenant: TenantScope, data: schemas.CompanyCreate) -> ApiResponse[schemas.Company]:
        """A name already used in the tenant answers 409 naming the company."""
        company = await service.create_company(tenant, data)
        return ApiResponse(company, status_code=201, headers={"Location": f"/v2/companies/{company.id}"})

    @get("/{company_id:int}", operation_id="getCompany", summary="Get a company", guards=[guard(policy.VIEW)])
    async def get_company(self, tenant: TenantScope, company_id: int) -> schemas.Company:
        """404 for other tenants' ids."""
        return await service.get_company(tenant, company_id)

    @patch("/{company_id:int}", operation_id="updateCompany", summary="Update a company", guards=[guard(policy.EDIT)])
    async def update_company(
        self, tenant: TenantScope, company_id: int, data: schemas.CompanyUpdate, if_match: IfMatch = None
    ) -> schemas.Company:
        """Honours `If-Match`."""
        return await service.update_company(tenant, company_id, data, if_match=if_match)

    @delete("/{company_id:int}", operation_id="deleteCompany", summary="Delete a company", guards=[guard(policy.DELETE)])
    async def delete_company(self, tenant: TenantScope, company_id: int) -> None:
        """Its contacts and leads stay, unlinked. Audited."""
        await service.delete_company(tenant, company_id)

    @get(
        "/{company_id:int}/contacts",
        operation_id="getCompanyContacts",
        summary="A company's contacts",
        guards=[guard(policy.VIEW)],
        opt={SORTS_OPT: service.CONTACT_SORTS},
    )
    async def company_contacts(self, tenant: TenantScope, list_query: ListQuery, company_id: int) -> Page[schemas.Contact]:
        """Contacts working for the company."""
        await service.get_company(tenant, company_id)
        return await service.list_contacts(tenant, list_query, company_id=company_id)

    @get(
        "/{company_id:int}/leads",
        operation_id="getCompanyLeads",
        summary="A company's leads",
        guards=[guard(policy.VIEW)],
        opt={SORTS_OPT: leads.SORTS},
    )
    async def company_leads(self, tenant: TenantScope, list_query: ListQuery, settings: Settings, company_id: int) -> Page[LeadSummary]:
        """Leads linked to the company."""
        await service.get_company(tenant, company_id)
        return await leads.list_leads(tenant, leads.LeadFilters(company_id=company_id), list_query, settings.base_url)
