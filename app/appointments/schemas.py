"""Request and response types of appointments (one schema per shape: validation, JSON and OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import RequestBody, ResponseBody

AppointmentType = Literal["viewing", "call", "meeting"]
AppointmentStatus = Literal["scheduled", "confirmed", "completed", "cancelled", "no_show"]
TYPES: tuple[str, ...] = AppointmentType.__args__  # type: ignore[attr-defined]
STATUSES: tuple[str, ...] = AppointmentStatus.__args__  # type: ignore[attr-defined]
# An agent is busy during these (the exclusion constraint's condition says the same).
ACTIVE_STATUSES = ("scheduled", "confirmed")

# No upper bound in the schema: JSON Schema readers compare it as a float, which cannot hold 2**63 - 1 exactly; an id
# past PostgreSQL's bigint names no record, and the service says so (`unknown_reference`).
Id = Annotated[int, msgspec.Meta(ge=1)]
BIGINT_MAX = 2**63 - 1
Instant = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 with a zone, e.g. 2026-12-07T15:00:00Z (stored in UTC)")]
Location = Annotated[str, msgspec.Meta(max_length=300)]
Notes = Annotated[str, msgspec.Meta(max_length=10_000)]


class Appointment(ResponseBody):
    """A viewing, call or meeting of an agent with a lead."""

    id: int
    tenant_id: int
    lead_id: int
    lead_name: str
    contact_id: int | None
    deal_id: int | None
    property_id: int | None
    agent_id: int
    agent_name: str
    starts_at: datetime
    ends_at: datetime
    location: str
    type: str
    status: str
    notes: str
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    ics_url: str


class AppointmentCreate(RequestBody, kw_only=True):
    """A new appointment. `agent_id` defaults to the caller (agents may name only themselves); `status` to scheduled.

    `ends_at` must be after `starts_at`; an agent already booked at an overlapping time answers 409 naming the clash."""

    lead_id: Id
    starts_at: Instant
    ends_at: Instant
    type: AppointmentType = "viewing"
    status: AppointmentStatus = "scheduled"
    agent_id: Id | None = None
    contact_id: Id | None = None
    deal_id: Id | None = None
    property_id: Id | None = None
    location: Location = ""
    notes: Notes = ""


class AppointmentUpdate(RequestBody, kw_only=True):
    """A partial change; fields left out are unchanged. Moving it, or making it active again, is checked for clashes."""

    starts_at: Instant | UnsetType = UNSET
    ends_at: Instant | UnsetType = UNSET
    type: AppointmentType | UnsetType = UNSET
    status: AppointmentStatus | UnsetType = UNSET
    agent_id: Id | UnsetType = UNSET
    contact_id: Id | UnsetType | None = UNSET
    deal_id: Id | UnsetType | None = UNSET
    property_id: Id | UnsetType | None = UNSET
    location: Location | UnsetType = UNSET
    notes: Notes | UnsetType = UNSET


class CalendarFeed(ResponseBody):
    """A person's calendar-feed address. Shown once: only a hash is kept; asking for a new one ends the old."""

    url: str
    created_at: datetime
