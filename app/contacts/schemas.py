"""Request and response types of contacts and companies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import Email, Name, Phone, RequestBody, ResponseBody

Short = Annotated[str, msgspec.Meta(max_length=200)]
Notes = Annotated[str, msgspec.Meta(max_length=10_000)]


class Company(ResponseBody):
    """A company."""

    id: int
    tenant_id: int
    name: str
    domain: str | None
    industry: str | None
    phone: str | None
    address: str | None
    notes: str
    created_at: datetime
    updated_at: datetime


class CompanyCreate(RequestBody):
    """A new company; names are unique in a tenant (case-insensitive)."""

    name: Name
    domain: Short | None = None
    industry: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    phone: Phone | None = None
    address: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    notes: Notes = ""


class CompanyUpdate(RequestBody):
    """A partial change."""

    not_both: ClassVar[tuple[str, ...]] = ("company", "company_id")

    name: Name | UnsetType = UNSET
    domain: Short | UnsetType | None = UNSET
    industry: Annotated[str, msgspec.Meta(max_length=100)] | UnsetType | None = UNSET
    phone: Phone | UnsetType | None = UNSET
    address: Annotated[str, msgspec.Meta(max_length=300)] | UnsetType | None = UNSET
    notes: Notes | UnsetType = UNSET


class Contact(ResponseBody):
    """A contact, with the name of its company."""

    id: int
    tenant_id: int
    name: str
    email: str | None
    phone: str | None
    title: str | None
    company_id: int | None
    company_name: str | None
    notes: str
    created_at: datetime
    updated_at: datetime


class ContactCreate(RequestBody):
    """A new contact; an e-mail identifies one contact per tenant (409 when taken)."""

    not_both: ClassVar[tuple[str, ...]] = ("company", "company_id")

    name: Name
    email: Email | None = None
    phone: Phone | None = None
    title: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    company_id: int | None = None
    company: Annotated[Name, msgspec.Meta(description="The company's name (NeuraCRM guide §3.3): linked, or created when new")] | None = (
        None
    )
    notes: Notes = ""


class ContactUpdate(RequestBody):
    """A partial change."""

    not_both: ClassVar[tuple[str, ...]] = ("company", "company_id")

    name: Name | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    phone: Phone | UnsetType | None = UNSET
    title: Annotated[str, msgspec.Meta(max_length=100)] | UnsetType | None = UNSET
    company_id: int | UnsetType | None = UNSET
    company: Annotated[Name, msgspec.Meta(description="The company's name: linked, or created when new")] | UnsetType = UNSET
    notes: Notes | UnsetType = UNSET
