"""Request and response types of tasks, the API's `activities` (one schema per shape: validation, JSON and OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import RecordId, RequestBody, ResponseBody

ActivityType = Literal["call", "meeting", "email", "whatsapp", "viewing", "todo"]
TYPES: tuple[str, ...] = ActivityType.__args__  # type: ignore[attr-defined]
Source = Literal["manual", "recommendation", "rule"]
# What came of a task (a call's outcome is also its disposition in the call log).
Outcome = Literal["", "connected", "no_answer", "left_voicemail", "busy", "wrong_number", "interested", "not_interested", "done"]
OUTCOMES: tuple[str, ...] = Outcome.__args__  # type: ignore[attr-defined]
# What came of it, when one must be said (the one-move log).
SaidOutcome = Literal["connected", "no_answer", "left_voicemail", "busy", "wrong_number", "interested", "not_interested", "done"]
BIGINT_MAX = 2**63 - 1

Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="What to do, e.g. Call about the villa")]
Instant = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 with a zone, e.g. 2026-12-07T15:00:00Z (stored in UTC)")]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=1440, description="Planned length in minutes")]
Notes = Annotated[str, msgspec.Meta(max_length=10_000)]
# Links every task may carry, in the order of the response.
LINKS = ("lead_id", "contact_id", "deal_id", "property_id", "ticket_id", "appointment_id", "call_id")


class Activity(ResponseBody):
    """A task or follow-up: what to do, by whom, when, and what came of it."""

    id: int
    type: str
    subject: str
    due_at: datetime | None
    duration_minutes: int | None
    done: bool
    done_at: datetime | None
    overdue: bool
    outcome: str
    notes: str
    owner_id: int | None
    owner_name: str | None
    lead_id: int | None
    lead_name: str | None
    lead_phone: str | None
    lead_email: str | None
    contact_id: int | None
    deal_id: int | None
    property_id: int | None
    ticket_id: int | None
    appointment_id: int | None
    call_id: int | None
    source: str
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class ActivityCreate(RequestBody, kw_only=True):
    """A new task. `owner_id` defaults to the caller (agents may name only themselves). Link it to what it is about:
    a lead (its contact follows), a contact, a deal, a property, a ticket, an appointment (a meeting or viewing in the
    agenda) or a call."""

    subject: Subject
    type: ActivityType = "todo"
    due_at: Instant | None = None
    duration_minutes: Minutes | None = None
    done: bool = False
    outcome: Outcome = ""
    notes: Notes = ""
    owner_id: RecordId | None = None
    lead_id: RecordId | None = None
    contact_id: RecordId | None = None
    deal_id: RecordId | None = None
    property_id: RecordId | None = None
    ticket_id: RecordId | None = None
    appointment_id: RecordId | None = None
    call_id: RecordId | None = None


class ActivityUpdate(RequestBody, kw_only=True):
    """A partial change; fields left out are unchanged. `done: true` completes it (done_at is set), `false` reopens it."""

    subject: Subject | UnsetType = UNSET
    type: ActivityType | UnsetType = UNSET
    due_at: Instant | UnsetType | None = UNSET
    duration_minutes: Minutes | UnsetType | None = UNSET
    done: bool | UnsetType = UNSET
    outcome: Outcome | UnsetType = UNSET
    notes: Notes | UnsetType = UNSET
    owner_id: RecordId | UnsetType | None = UNSET
    lead_id: RecordId | UnsetType | None = UNSET
    contact_id: RecordId | UnsetType | None = UNSET
    deal_id: RecordId | UnsetType | None = UNSET
    property_id: RecordId | UnsetType | None = UNSET
    ticket_id: RecordId | UnsetType | None = UNSET
    appointment_id: RecordId | UnsetType | None = UNSET
    call_id: RecordId | UnsetType | None = UNSET


class FromRecommendation(RequestBody, kw_only=True):
    """A lead's score recommendation ("Call within 15 minutes") made a task in one click: its type and due time follow
    from the words, the owner is the lead's agent (else the caller)."""

    lead_id: RecordId
    recommendation: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class LogOutcome(RequestBody, kw_only=True):
    """One move after a call: what came of it, a note, and the next step. The call is logged in the call log (completed,
    or failed when nobody answered), the task is done, and the next task is created when `next_subject` is given."""

    outcome: SaidOutcome
    notes: Notes = ""
    next_type: ActivityType = "call"
    next_subject: Annotated[str, msgspec.Meta(max_length=200)] = ""
    next_due_at: Instant | None = None
