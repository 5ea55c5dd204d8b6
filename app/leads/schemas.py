"""Request and response types of leads, their timeline and their score."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import MONEY_PATTERN, Amount, Email, Phone, RequestBody, ResponseBody

LeadStatus = Literal["NEW", "CONTACTED", "QUALIFIED", "VIEWING_SCHEDULED", "NEGOTIATING", "WON", "LOST"]
TransactionType = Literal["BUY", "RENT", "SELL"]
PropertyType = Literal["APARTMENT", "VILLA", "TOWNHOUSE", "PENTHOUSE", "STUDIO", "OFFICE", "RETAIL", "LAND", "OTHER"]
Purpose = Literal["INVESTMENT", "LIVING", "RESIDENCY"]
PaymentMethod = Literal["CASH", "MORTGAGE", "INSTALLMENT"]
Temperature = Literal["hot", "warm", "cold"]

STATUSES: tuple[str, ...] = LeadStatus.__args__  # type: ignore[attr-defined]
_ANY_CASE_STATUS = "|".join("".join(f"[{c}{c.lower()}]" if c.isalpha() else c for c in status) for status in STATUSES)
# One status or several separated by commas, in any case, spaces around each: the filter's schema and its check.
STATUS_LIST_PATTERN = f"^ *(?:(?:{_ANY_CASE_STATUS}) *(?:, *(?:{_ANY_CASE_STATUS}) *)*)?$"

# msgspec cannot bound a Decimal; the service refuses negative or oversized amounts (app.core.schemas.checked_money).
Money = Annotated[
    Decimal,
    msgspec.Meta(
        description="Amount in budget_currency (a JSON number or a decimal string, at most 99999999999999.99)",
        extra_json_schema={"pattern": MONEY_PATTERN},
    ),
]
LeadName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$", description="ISO 639-1 code, e.g. en, ar")]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. AED")]
Bedrooms = Annotated[int, msgspec.Meta(ge=0, le=50)]
Short = Annotated[str, msgspec.Meta(max_length=200)]
Counter = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class LeadSummary(ResponseBody):
    """A lead in a list (the list shape of the guide §3.1)."""

    id: int
    name: str
    phone: str | None
    email: str | None
    status: str
    budget_min: Amount | None
    budget_max: Amount | None
    budget_currency: str
    property_type: str | None
    transaction_type: str | None
    purpose: str | None
    preferred_location: str | None
    language: str
    source: str
    hotness_score: int
    temperature: str
    agent_id: int | None
    created_at: datetime
    last_interaction: datetime | None
    conversation_url: str
    roi_report_url: str | None = None  # filled after the row is read (the domain that makes ROI reports says where)


class Lead(ResponseBody):
    """Everything about a lead (the detail shape of the guide §3.1)."""

    id: int
    tenant_id: int
    source: str
    name: str
    phone: str | None
    email: str | None
    telegram_username: str | None
    telegram_chat_id: str | None
    language: str
    status: str
    budget_min: Amount | None
    budget_max: Amount | None
    budget_currency: str
    transaction_type: str | None
    property_type: str | None
    purpose: str | None
    bedrooms_min: int | None
    bedrooms_max: int | None
    payment_method: str | None
    preferred_location: str | None
    preferred_locations: list[str]
    hotness_score: int
    temperature: str
    score_factors: dict[str, int]
    score_confidence: float
    urgency_score: int | None
    conversation_state: str | None
    message_count: int
    voice_messages_sent: int
    images_uploaded: int
    qualification_duration_seconds: int | None
    pain_point: str | None
    voice_transcript: str | None
    conversation_data: dict[str, Any]
    custom_fields: dict[str, Any]
    notes: str
    agent_id: int | None
    contact_id: int | None
    company_id: int | None
    campaign_id: int | None
    agent_name: str | None
    created_at: datetime
    updated_at: datetime
    last_interaction: datetime | None
    ghost_reminder_sent: bool
    deleted_at: datetime | None
    conversation_url: str
    roi_report_url: str | None = None
    appointment: LeadAppointment | None = None


class LeadAppointment(ResponseBody):
    """The lead's next upcoming scheduled or confirmed appointment (guide §3.1), its type and status in capitals as there.

    Filled by the appointments domain (`GET /v2/appointments?lead_id=` lists them all)."""

    id: int
    type: str
    scheduled_date: datetime
    status: str
    agent_id: int
    agent_name: str | None


class _LeadFields(RequestBody):
    """Fields a client may set on a lead."""

    phone: Phone | UnsetType | None = UNSET
    email: Email | UnsetType | None = UNSET
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=50)] | UnsetType = UNSET
    telegram_username: Short | UnsetType | None = UNSET
    telegram_chat_id: Short | UnsetType | None = UNSET
    language: Language | UnsetType = UNSET
    budget_min: Money | UnsetType | None = UNSET
    budget_max: Money | UnsetType | None = UNSET
    budget_currency: Currency | UnsetType = UNSET
    transaction_type: TransactionType | UnsetType | None = UNSET
    property_type: PropertyType | UnsetType | None = UNSET
    purpose: Purpose | UnsetType | None = UNSET
    bedrooms_min: Bedrooms | UnsetType | None = UNSET
    bedrooms_max: Bedrooms | UnsetType | None = UNSET
    payment_method: PaymentMethod | UnsetType | None = UNSET
    preferred_location: Short | UnsetType | None = UNSET
    preferred_locations: Annotated[list[Short], msgspec.Meta(max_length=20)] | UnsetType = UNSET
    urgency_score: Annotated[int, msgspec.Meta(ge=0, le=10)] | UnsetType | None = UNSET
    conversation_state: Annotated[str, msgspec.Meta(max_length=40)] | UnsetType | None = UNSET
    message_count: Counter | UnsetType = UNSET
    voice_messages_sent: Counter | UnsetType = UNSET
    images_uploaded: Counter | UnsetType = UNSET
    qualification_duration_seconds: Counter | UnsetType | None = UNSET
    pain_point: Annotated[str, msgspec.Meta(max_length=100)] | UnsetType | None = UNSET
    voice_transcript: Annotated[str, msgspec.Meta(max_length=20000)] | UnsetType | None = UNSET
    conversation_data: dict[str, Any] | UnsetType = UNSET
    custom_fields: dict[str, Any] | UnsetType = UNSET
    notes: Annotated[str, msgspec.Meta(max_length=10_000)] | UnsetType = UNSET
    agent_id: int | UnsetType | None = UNSET
    contact_id: int | UnsetType | None = UNSET
    company_id: int | UnsetType | None = UNSET
    campaign_id: Annotated[int, msgspec.Meta(ge=1, le=2**53, description="The campaign the lead came from")] | UnsetType | None = UNSET
    last_interaction: Annotated[datetime, msgspec.Meta(tz=True)] | UnsetType | None = UNSET


class LeadCreate(_LeadFields, kw_only=True):
    """A new lead. `status` defaults to NEW."""

    name: LeadName
    status: LeadStatus = "NEW"


class LeadUpdate(_LeadFields, kw_only=True):
    """A partial change; fields left out are unchanged. `notes` also adds a note to the timeline."""

    name: LeadName | UnsetType = UNSET
    status: LeadStatus | UnsetType = UNSET


class LeadScore(ResponseBody):
    """An explainable score: the points of each factor add up to `score`."""

    lead_id: int
    score: int
    temperature: str
    factors: dict[str, int]
    confidence: float
    hot: bool
    urgency_indicators: list[str]
    recommendations: list[str]
    recommended_action: str


class ScoreAllResult(ResponseBody):
    """The job that rescored every lead of the tenant."""

    job_key: str
    status: str
