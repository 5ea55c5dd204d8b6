"""Webhook endpoints (the body of §2.2 of the ArtinSmartRealty guide), deliveries and attempts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, ClassVar

from msgspec import UNSET, Meta, UnsetType

from app.core.schemas import RequestBody, ResponseBody
from app.outbound.ssrf import URL_PATTERN

URL_EXPECTED = "an http:// or https:// URL with a host name (xn-- form for international names) or [IPv6] address"
Url = Annotated[
    str,
    Meta(
        min_length=8,
        max_length=2000,
        pattern=URL_PATTERN,
        description=f"{URL_EXPECTED[:1].upper()}{URL_EXPECTED[1:]}; it must point to a public address (else 422, `details.reason: target`)",
    ),
]
EventNames = Annotated[
    list[Annotated[str, Meta(min_length=1, max_length=60)]],
    Meta(min_length=1, max_length=100, description="Event types to send, or `*` for all (see GET /v2/webhooks/events)"),
]


def _subscribable() -> list[str]:
    from app.events.catalog import ALL, event_types  # the catalog reads every domain, this one included

    return [ALL, *event_types()]


def _event_types() -> list[str]:
    return _subscribable()[1:]


Secret = Annotated[str, Meta(min_length=16, max_length=200, description="Generated (`whsec_…`) when left out; shown once")]


class RetryPolicy(RequestBody):
    """How often and how long to retry a failed delivery."""

    max_retries: Annotated[int, Meta(ge=0, le=10)] = 3
    retry_delay_seconds: Annotated[int, Meta(ge=1, le=3600, description="The first retry's delay; later ones grow as 1:5:15")] = 60


class WebhookCreate(RequestBody):
    """A new endpoint. `url` and `secret` (the NeuraCRM guide's names) are accepted for `webhook_url` and `secret_key`."""

    allowed_values: ClassVar[dict[str, Callable[[], list[str]]]] = {"events": _subscribable}
    one_of_required: ClassVar[tuple[str, ...]] = ("webhook_url", "url")

    webhook_url: Url | UnsetType = UNSET
    url: Url | UnsetType = UNSET
    secret_key: Secret | UnsetType = UNSET
    secret: Secret | UnsetType = UNSET
    events: EventNames | UnsetType = UNSET
    retry_policy: RetryPolicy | UnsetType = UNSET
    active: bool = True
    description: Annotated[str, Meta(max_length=200)] = ""


class WebhookUpdate(RequestBody):
    """A partial change; fields left out are unchanged (a new `secret_key` replaces the old one at once)."""

    allowed_values: ClassVar[dict[str, Callable[[], list[str]]]] = {"events": _subscribable}

    webhook_url: Url | UnsetType = UNSET
    secret_key: Secret | UnsetType = UNSET
    events: EventNames | UnsetType = UNSET
    retry_policy: RetryPolicy | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=200)] | UnsetType = UNSET


class RetryPolicyOut(ResponseBody):
    """The endpoint's retry policy."""

    max_retries: int
    retry_delay_seconds: int


class Webhook(ResponseBody):
    """An endpoint. `secret_key` is shown whole only when created or rotated, masked afterwards."""

    id: int
    webhook_url: str
    events: list[str]
    retry_policy: RetryPolicyOut
    active: bool
    description: str
    disabled_reason: str | None
    secret_key: str
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Delivery(ResponseBody):
    """One event sent (or to be sent) to one endpoint."""

    id: int
    delivery_id: str
    webhook_id: int
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    is_test: bool
    created_at: datetime
    delivered_at: datetime | None
    failed_at: datetime | None


class Attempt(ResponseBody):
    """One try: what was sent, what came back (cut at 2 KB), how long it took."""

    attempt: int
    url: str
    request_headers: dict[str, Any]
    status_code: int | None
    response_headers: dict[str, Any]
    response_excerpt: str
    error: str
    duration_ms: int
    created_at: datetime


class DeliveryDetail(Delivery):
    """A delivery with its exact body and every attempt."""

    body: str = ""
    attempt_log: list[Attempt] = []


class TestEvent(RequestBody):
    """§9.2: send a sample event now, to a registered endpoint (or all endpoints taking the event) or a given URL."""

    allowed_values: ClassVar[dict[str, Callable[[], list[str]]]] = {"event_type": _event_types}

    event_type: Annotated[str, Meta(min_length=1, max_length=60)]
    webhook_url: Url | UnsetType = UNSET


class TestResult(ResponseBody):
    """What each receiver answered to the test event."""

    event_type: str
    results: list[Delivery]
    secret_key: str | None = None


class Redelivered(ResponseBody):
    """How many deliveries were queued again."""

    redelivered: int
    delivery_ids: list[int]


class BulkRedeliver(RequestBody):
    """Queue failed deliveries again: these ids, or every failed one of the endpoint (at most `max_deliveries`)."""

    delivery_ids: Annotated[list[Annotated[int, Meta(ge=1, le=2**63 - 1)]], Meta(min_length=1, max_length=1000)] | UnsetType = UNSET
    max_deliveries: Annotated[int, Meta(ge=1, le=1000)] = 100
