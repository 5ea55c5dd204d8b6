"""Request and response types of the call center (NeuraCRM §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import RequestBody, ResponseBody

Direction = Literal["inbound", "outbound", "internal"]
CallStatus = Literal["ringing", "answered", "completed", "failed", "abandoned"]
TransferType = Literal["blind", "attended", "conference"]
ProviderType = Literal["asterisk", "freeswitch", "3cx", "twilio", "sip", "other"]
PROVIDER_TYPES: tuple[str, ...] = ProviderType.__args__  # type: ignore[attr-defined]
PeriodType = Literal["daily", "weekly", "monthly", "quarterly"]
DIRECTIONS: tuple[str, ...] = Direction.__args__  # type: ignore[attr-defined]
STATUSES: tuple[str, ...] = CallStatus.__args__  # type: ignore[attr-defined]
# A call still going on; the others are over.
LIVE_STATUSES = ("ringing", "answered")

Id = Annotated[int, msgspec.Meta(ge=1)]
BIGINT_MAX = 2**63 - 1
Number = Annotated[
    str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^\+?[0-9*#][0-9 ()*#.\-]{0,30}$", description="A phone number or extension")
]
Instant = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 with a zone")]
Short = Annotated[str, msgspec.Meta(max_length=60)]
Long = Annotated[str, msgspec.Meta(max_length=100_000)]


class Call(ResponseBody):
    """A call. `wait_seconds` (start → answer) and `talk_seconds` (answer → end) follow from its times."""

    id: int
    direction: str
    status: str
    from_number: str
    to_number: str
    agent_id: int | None
    agent_name: str | None
    queue: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    wait_seconds: int | None
    talk_seconds: int | None
    disposition: str
    notes: str
    transcript: str
    lead_id: int | None
    contact_id: int | None
    ticket_id: int | None
    campaign_id: int | None
    provider_id: int | None
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    provider_status: str | None = None  # a dial through a provider: queued, accepted (`external_id` is its id) or failed
    provider_error: str | None = None  # why the provider refused or could not be reached


class CallEvent(ResponseBody):
    """Something that happened to a call: a transfer or a provider's event; a transfer handed to a provider says what
    it did (`provider_status` queued, accepted or failed, and `provider_error`)."""

    id: int
    kind: str
    transfer_type: str | None
    extension: str | None
    created_by: int | None
    created_at: datetime
    provider_status: str | None = None
    provider_error: str | None = None


class CallDetail(Call, kw_only=True):
    """A call with its events, oldest first."""

    events: list[CallEvent]


class CallMetadata(RequestBody, kw_only=True):
    """What the call is about (§5.2)."""

    lead_id: Id | None = None
    contact_id: Id | None = None
    campaign_id: Id | None = None
    ticket_id: Id | None = None


class CallCreate(RequestBody, kw_only=True):
    """A call (§5.2's body). Without `status`, an outbound call request: it starts ringing and is handed to the
    active telephony provider. With `status` (and times) a call that happened is logged by hand."""

    to_number: Number
    from_number: Number | None = None
    agent_id: Id | None = None
    metadata: CallMetadata | None = None
    direction: Direction = "outbound"
    status: CallStatus | None = None
    queue: Short = ""
    started_at: Instant | None = None
    answered_at: Instant | None = None
    ended_at: Instant | None = None
    disposition: Short = ""
    notes: Long = ""
    transcript: Long = ""


class CallUpdate(RequestBody, kw_only=True):
    """A partial change: the outcome, notes, times, links."""

    status: CallStatus | UnsetType = UNSET
    answered_at: Instant | UnsetType | None = UNSET
    ended_at: Instant | UnsetType | None = UNSET
    disposition: Short | UnsetType = UNSET
    notes: Long | UnsetType = UNSET
    transcript: Long | UnsetType = UNSET
    queue: Short | UnsetType = UNSET
    lead_id: Id | UnsetType | None = UNSET
    contact_id: Id | UnsetType | None = UNSET
    ticket_id: Id | UnsetType | None = UNSET


class Transfer(RequestBody, kw_only=True):
    """Transfer a live call (§5.2) to an extension."""

    extension: Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[0-9*#+]+$")]
    transfer_type: TransferType = "blind"


ApiUrl = Annotated[
    str,
    msgspec.Meta(
        max_length=300, pattern=r"^https?://[^\s]+$", description="A REST provider's base URL (twilio: https://api.twilio.com by default)"
    ),
]


class Provider(ResponseBody):
    """A telephony provider. Its password and webhook secret are never shown (`has_password`)."""

    id: int
    name: str
    provider_type: str
    host: str
    port: int
    username: str
    context: str
    api_url: str | None
    has_password: bool
    is_active: bool
    webhook_url: str
    last_tested_at: datetime | None
    last_test_ok: bool | None
    created_at: datetime
    updated_at: datetime


class ProviderCreated(Provider):
    """A new provider with its webhook secret, shown this once (a PBX signs its call events with it)."""

    webhook_secret: str


class ProviderCreate(RequestBody, kw_only=True):
    """A PBX (§5.1's body). `password` is encrypted at rest and never returned."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern="[^\\s]")]
    provider_type: ProviderType = "asterisk"
    host: Annotated[str, msgspec.Meta(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.\-:\[\]]+$")]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 5060
    username: Annotated[str, msgspec.Meta(max_length=100)] = ""
    password: Annotated[str, msgspec.Meta(max_length=200)] = ""
    context: Annotated[str, msgspec.Meta(max_length=100)] = ""
    api_url: ApiUrl | None = None
    is_active: bool = True


class ProviderUpdate(RequestBody, kw_only=True):
    """A partial change; a new `password` replaces the old."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern="[^\\s]")] | UnsetType = UNSET
    host: Annotated[str, msgspec.Meta(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.\-:\[\]]+$")] | UnsetType = UNSET
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] | UnsetType = UNSET
    username: Annotated[str, msgspec.Meta(max_length=100)] | UnsetType = UNSET
    password: Annotated[str, msgspec.Meta(max_length=200)] | UnsetType = UNSET
    context: Annotated[str, msgspec.Meta(max_length=100)] | UnsetType = UNSET
    api_url: ApiUrl | UnsetType | None = UNSET
    is_active: bool | UnsetType = UNSET


class ProviderTest(ResponseBody):
    """The connection test: for a provider that dials, whether its REST API accepted the credentials; for the others,
    whether a TCP connection to its host and port opened; and in how long."""

    ok: bool
    address: str | None
    latency_ms: float | None
    error: str | None


class CallEventIn(RequestBody, kw_only=True):
    """A PBX's call event (the provider-neutral webhook): signed with the provider's webhook secret
    (`X-Atrium-Signature: sha256=<hex HMAC-SHA256 of the raw body>`); `event_id` makes a redelivery harmless."""

    event_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    call_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    event: Literal["ringing", "answered", "completed", "failed", "abandoned", "transferred"]
    timestamp: Instant
    direction: Direction = "inbound"
    from_number: Annotated[str, msgspec.Meta(max_length=32)] = ""
    to_number: Annotated[str, msgspec.Meta(max_length=32)] = ""
    agent_email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    queue: Short = ""
    disposition: Short = ""
    transcript: Long = ""
    extension: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    transfer_type: TransferType | None = None


class CallEventApplied(ResponseBody):
    """What the webhook did: the call it applied to, and whether this event was new."""

    call_id: int
    applied: bool


class QueueStats(ResponseBody):
    """One queue's block of the analytics (§5.3)."""

    calls: int
    answered: int
    avg_wait: int
    service_level: float


class PeriodStats(ResponseBody):
    """One day, week, month or quarter of the range."""

    period_start: str
    calls: int
    answered: int
    abandoned: int


class CallAnalytics(ResponseBody):
    """§5.3's numbers over the calls that started in the range (the workspace's days), and how they are defined:
    waits run from start to answer, talk from answer to end; the service level is the share of calls answered
    within `service_level_seconds`; agent utilization is talk time over the agents' business hours in the range."""

    total_calls: int
    answered_calls: int
    abandoned_calls: int
    average_wait_time: int
    average_talk_time: int
    service_level: float
    agent_utilization: float
    queue_performance: dict[str, QueueStats]
    period_type: str
    start_date: str
    end_date: str
    service_level_seconds: int
    periods: list[PeriodStats]


class CallAnalyticsResponse(ResponseBody):
    """`GET /v2/telephony/analytics` as the guide's §5.3 answers it."""

    success: bool
    data: CallAnalytics
