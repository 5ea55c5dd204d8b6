"""Contacts and companies: rules and queries, always within the caller's tenant (who may do what: app.contacts.policy)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from asyncpg.exceptions import UniqueViolationError
from msgspec import UNSET

from app.contacts import policy, schemas
from app.contacts.tables import Company, Contact
from app.core.errors import Conflict, ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.core.schemas import normalise_phone, phone_search_term
from app.core.versions import require_current
from app.db import TenantScope, fetch, like_pattern, scoped_source, tenant_transaction
from app.events.schemas import TimelineEntry
from app.events.service import Subject, emit, timeline


def _values(data: msgspec.Struct) -> dict[str, Any]:
    values = {name: getattr(data, name) for name in data.__struct_fields__ if getattr(data, name) is not UNSET}
    if values.get("phone"):
        values["phone"] = normalise_phone(values["phone"])
    if values.get("email"):
        values["email"] = values["email"].strip().lower()
    if "name" in values:
        values["name"] = values["name"].strip()
    return values


def _changes(current: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if current.get(k) != v}


# --------------------------------------------------------------------------- companies

COMPANY_SORTS = {"name": "name", "created_at": "created_at", "updated_at": "updated_at"}
CONTACT_SORTS = {"name": "c.name", "created_at": "c.created_at", "updated_at": "c.updated_at"}


# What searches match (the expressions of the trigram indexes); see app.db.search_view_sql.
COMPANY_SEARCH_TEXT = "name || ' ' || coalesce(domain, '')"
CONTACT_SEARCH_TEXT = "name || ' ' || coalesce(email, '') || ' ' || coalesce(phone, '')"


async def list_companies(scope: TenantScope, query: ListQuery, q: str | None = None) -> Page[schemas.Company]:
    """A page of companies, optionally searched by name or domain."""
    policy.VIEW.require(scope)
    order = sort_order(query.sort, COMPANY_SORTS, "name")
    async with tenant_transaction(scope.tenant_id):
        source = await scoped_source("company", like_pattern(q) if q else None)
        rows = await fetch(
            f"SELECT * FROM {source} WHERE tenant_id = $1 ORDER BY {order.sql()} LIMIT {query.limit} OFFSET {query.offset}",
            scope.tenant_id,
        )
        total = (await fetch(f"SELECT count(*) AS n FROM {source} WHERE tenant_id = $1", scope.tenant_id))[0]["n"]
    return page_of(schemas.Company, rows, query, int(total))


async def _company(scope: TenantScope, company_id: int, *, lock: bool = False) -> dict[str, Any]:
    query = Company.select().where((Company.id == company_id) & (Company.tenant_id == scope.tenant_id))
    row = await (query.lock_rows("UPDATE") if lock else query).first()
    if row is None:
        raise ResourceNotFound("Company not found", details={"company_id": company_id})
    return dict(row)


async def get_company(scope: TenantScope, company_id: int) -> schemas.Company:
    """One company (404 for other tenants' ids)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return msgspec.convert(await _company(scope, company_id), schemas.Company)


async def create_company(scope: TenantScope, data: schemas.CompanyCreate) -> schemas.Company:
    """Create a company; a name already used in the tenant → 409 naming it."""
    policy.EDIT.require(scope)
    values = _values(data)
    try:
        async with tenant_transaction(scope.tenant_id):
            rows = await Company.insert(Company(tenant_id=scope.tenant_id, **values)).returning(*Company.all_columns())
    except UniqueViolationError:
        await _company_name_conflict(scope, values["name"])
        raise
    return msgspec.convert(rows[0], schemas.Company)


async def _company_name_conflict(scope: TenantScope, name: str) -> None:
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch("SELECT id FROM company WHERE tenant_id = $1 AND lower(name) = lower($2)", scope.tenant_id, name)
    if rows:
        raise Conflict(
            "A company with this name already exists", details={"field": "name", "provided": name, "existing_company_id": rows[0]["id"]}
        )


async def update_company(
    scope: TenantScope, company_id: int, data: schemas.CompanyUpdate, *, if_match: str | None = None
) -> schemas.Company:
    """Change a company (If-Match checked with the row locked)."""
    policy.EDIT.require(scope)
    values = _values(data)
    try:
        async with tenant_transaction(scope.tenant_id):
            current = await _company(scope, company_id, lock=True)
            require_current(if_match, msgspec.convert(current, schemas.Company))
            changed = _changes(current, values)
            if changed:
                changed["updated_at"] = datetime.now(UTC)
                await Company.update({getattr(Company, k): v for k, v in changed.items()}).where(Company.id == company_id)
            row = await _company(scope, company_id)
    except UniqueViolationError:
        await _company_name_conflict(scope, values["name"])
        raise
    return msgspec.convert(row, schemas.Company)


async def delete_company(scope: TenantScope, company_id: int) -> None:
    """Delete a company; its contacts and leads stay, unlinked. Audited."""
    policy.DELETE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = await _company(scope, company_id, lock=True)
        await Company.delete().where(Company.id == company_id)
        await emit(scope, Subject("company", company_id), "deleted", audit={"name": row["name"]})


# --------------------------------------------------------------------------- contacts

_CONTACT_COLUMNS = """
SELECT c.id, c.tenant_id, c.name, c.email, c.phone, c.title, c.company_id, co.name AS company_name, c.notes, c.created_at, c.updated_at
"""
_CONTACT_SELECT = _CONTACT_COLUMNS + "FROM contact c LEFT JOIN company co ON co.id = c.company_id AND co.tenant_id = c.tenant_id"
# Lists read the tenant's contacts, searches the view the trigram index serves (app.db.scoped_source).
_CONTACT_LIST = _CONTACT_COLUMNS + "FROM {source} c LEFT JOIN company co ON co.id = c.company_id AND co.tenant_id = c.tenant_id"


async def _contact(scope: TenantScope, contact_id: int, *, lock: bool = False) -> dict[str, Any]:
    rows = await fetch(
        _CONTACT_SELECT + " WHERE c.id = $1 AND c.tenant_id = $2" + (" FOR UPDATE OF c" if lock else ""), contact_id, scope.tenant_id
    )
    if not rows:
        raise ResourceNotFound("Contact not found", details={"contact_id": contact_id})
    return rows[0]


async def list_contacts(
    scope: TenantScope, query: ListQuery, *, q: str | None = None, company_id: int | None = None
) -> Page[schemas.Contact]:
    """A page of contacts, searched by name, e-mail or phone, or of one company."""
    policy.VIEW.require(scope)
    order = sort_order(query.sort, CONTACT_SORTS, "name")
    args: list[Any] = [scope.tenant_id]
    where = "c.tenant_id = $1"
    if company_id is not None:
        args.append(company_id)
        where += f" AND c.company_id = ${len(args)}"
    async with tenant_transaction(scope.tenant_id):
        source = await scoped_source("contact", like_pattern(phone_search_term(q)) if q else None)
        page = f"ORDER BY {order.sql(tiebreak='c.id')} LIMIT {query.limit} OFFSET {query.offset}"
        rows = await fetch(f"{_CONTACT_LIST.format(source=source)} WHERE {where} {page}", *args)
        total = (await fetch(f"SELECT count(*) AS n FROM {source} c WHERE {where}", *args))[0]["n"]
    return page_of(schemas.Contact, rows, query, int(total))


async def get_contact(scope: TenantScope, contact_id: int) -> schemas.Contact:
    """One contact with its company's name (404 for other tenants' ids)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return msgspec.convert(await _contact(scope, contact_id), schemas.Contact)


async def _check_company(scope: TenantScope, company_id: int | None) -> None:
    if company_id is not None and not await fetch("SELECT 1 FROM company WHERE id = $1 AND tenant_id = $2", company_id, scope.tenant_id):
        raise ValidationFailed(
            "Invalid company_id: no such company in your tenant",
            # `reason`: a well-formed id; whether it names a company of the tenant depends on the data, not the request.
            details={
                "field": "company_id",
                "provided": company_id,
                "expected": "the id of one of your companies",
                "reason": "unknown_reference",
            },
        )


async def _email_conflict(scope: TenantScope, email: str | None, exclude_id: int = 0) -> None:
    if email is None:
        return
    rows = await fetch(
        "SELECT id, name FROM contact WHERE tenant_id = $1 AND lower(email) = lower($2) AND id <> $3", scope.tenant_id, email, exclude_id
    )
    if rows:
        raise Conflict(
            f"A contact with this email already exists: #{rows[0]['id']} {rows[0]['name']}",
            details={"field": "email", "provided": email, "existing_contact_id": rows[0]["id"]},
        )


async def _company_by_name(scope: TenantScope, values: dict[str, Any]) -> None:
    """`company` (a name, as the NeuraCRM guide sends it) becomes `company_id`: the tenant's company of
    that name (any case), created when there is none. Inside the caller's transaction."""
    name = values.pop("company", None)
    if name is None:
        return
    name = name.strip()
    if values.get("company_id") is not None:
        raise ValidationFailed(
            "Invalid company: send company or company_id, not both",
            details={"field": "company", "provided": name, "expected": "either a company name or a company_id"},
        )
    rows = await fetch("SELECT id FROM company WHERE tenant_id = $1 AND lower(name) = lower($2)", scope.tenant_id, name)
    if not rows:
        rows = await fetch(
            "INSERT INTO company (tenant_id, name, notes, created_at, updated_at) VALUES ($1, $2, '', now(), now()) "
            "ON CONFLICT DO NOTHING RETURNING id",
            scope.tenant_id,
            name,
        ) or await fetch("SELECT id FROM company WHERE tenant_id = $1 AND lower(name) = lower($2)", scope.tenant_id, name)
    values["company_id"] = rows[0]["id"]


async def create_contact(scope: TenantScope, data: schemas.ContactCreate) -> schemas.Contact:
    """Create a contact; its e-mail must be new in the tenant (409 naming the existing contact)."""
    policy.EDIT.require(scope)
    values = _values(data)
    async with tenant_transaction(scope.tenant_id):
        await _company_by_name(scope, values)
        await _check_company(scope, values.get("company_id"))
        await _email_conflict(scope, values.get("email"))
        rows = await Contact.insert(Contact(tenant_id=scope.tenant_id, **values)).returning(Contact.id)
        contact = msgspec.convert(await _contact(scope, rows[0]["id"]), schemas.Contact)
        await emit(scope, _subject(contact.id), "created", "Contact created", events=[("contact.created", _payload(contact))])
        return contact


async def update_contact(
    scope: TenantScope, contact_id: int, data: schemas.ContactUpdate, *, if_match: str | None = None
) -> schemas.Contact:
    """Change a contact; changes land on its activity (If-Match checked with the row locked)."""
    policy.EDIT.require(scope)
    values = _values(data)
    async with tenant_transaction(scope.tenant_id):
        current = await _contact(scope, contact_id, lock=True)
        require_current(if_match, msgspec.convert(current, schemas.Contact))
        await _company_by_name(scope, values)
        changed = _changes(current, values)
        if "company_id" in changed:
            await _check_company(scope, changed["company_id"])
        if "email" in changed:
            await _email_conflict(scope, changed["email"], exclude_id=contact_id)
        if changed:
            await Contact.update({**{getattr(Contact, k): v for k, v in changed.items()}, Contact.updated_at: datetime.now(UTC)}).where(
                Contact.id == contact_id
            )
        contact = msgspec.convert(await _contact(scope, contact_id), schemas.Contact)
        if changed:
            await emit(
                scope,
                _subject(contact_id),
                "updated",
                "Changed " + ", ".join(sorted(changed)),
                {k: (current.get(k), v) for k, v in changed.items()},
                events=[("contact.updated", {**_payload(contact), "changed_fields": sorted(changed)})],
            )
        return contact


async def delete_contact(scope: TenantScope, contact_id: int) -> None:
    """Delete a contact; its leads stay, unlinked. Audited."""
    policy.DELETE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = await _contact(scope, contact_id, lock=True)
        await Contact.delete().where(Contact.id == contact_id)
        await emit(scope, _subject(contact_id), "deleted", audit={"name": row["name"]})
        # Its own timeline goes with it; its leads' entries stay with the leads.
        await fetch(
            "DELETE FROM activity WHERE tenant_id = $1 AND subject_type = 'contact' AND subject_id = $2", scope.tenant_id, contact_id
        )
        await fetch("UPDATE activity SET contact_id = NULL WHERE tenant_id = $1 AND contact_id = $2", scope.tenant_id, contact_id)


async def contact_activities(scope: TenantScope, contact_id: int, query: ListQuery) -> Page[TimelineEntry]:
    """The contact's timeline: its own entries and those of its leads (and later its deals), newest first."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await _contact(scope, contact_id)
        return await timeline(scope, query, contact_id=contact_id)


def _subject(contact_id: int) -> Subject:
    return Subject("contact", contact_id, contact_id=contact_id)


def _payload(contact: schemas.Contact) -> dict[str, Any]:
    """The `data` of contact events."""
    return {"contact_id": contact.id, **{k: v for k, v in msgspec.to_builtins(contact).items() if k != "id"}}
