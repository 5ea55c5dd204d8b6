"""Request and response types of message templates, generate-and-send and communications (Real Estate OS guide:
Communications, Quick Start 3, Workflow 1)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import RecordId, RequestBody, ResponseBody, VisibleName

Channel = Literal["email", "sms"]
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]
Status = Literal[
    "draft",
    "queued",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "replied",
    "bounced",
    "dropped",
    "spam_report",
    "failed",
    "undelivered",
    "opted_out",
]
Transport = Literal["smtp", "sms_api", "outbox"]
STATUS_LABELS = {
    "draft": "Draft",
    "queued": "Queued",
    "sent": "Sent",
    "delivered": "Delivered",
    "opened": "Opened",
    "clicked": "Clicked",
    "replied": "Replied",
    "bounced": "Bounced",
    "dropped": "Dropped",
    "spam_report": "Marked as spam",
    "failed": "Failed",
    "undelivered": "Undelivered",
    "opted_out": "Opted out",
}
StageName = Annotated[str, msgspec.Meta(min_length=1, max_length=30, pattern="^[a-z_]+$", description="e.g. outreach")]
SubjectTemplate = Annotated[str, msgspec.Meta(max_length=300, description="Jinja2 text with placeholders such as {{address}}")]
BodyTemplate = Annotated[str, msgspec.Meta(min_length=1, max_length=10_000, description="Jinja2 text with placeholders")]


class Performance(ResponseBody):
    """How a template did: messages sent from it, opened and replied to, and the rates (of those sent)."""

    total_sent: int
    total_opened: int
    total_replied: int
    open_rate: float
    reply_rate: float


class Template(ResponseBody):
    """An e-mail or SMS template with its performance."""

    id: int
    name: str
    type: Channel
    subject_template: str
    body_template: str
    stage: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
    performance: Performance


class TemplateCreate(RequestBody):
    """A new template; its placeholders are checked (422 `reason: bad_placeholder`)."""

    name: VisibleName
    body_template: BodyTemplate
    type: Channel = "email"
    subject_template: SubjectTemplate = ""
    stage: StageName = "outreach"
    is_active: bool = True


class TemplateUpdate(RequestBody):
    """Changes to a template (fields not sent are kept)."""

    name: VisibleName | UnsetType = UNSET
    type: Channel | UnsetType = UNSET
    subject_template: SubjectTemplate | UnsetType = UNSET
    body_template: BodyTemplate | UnsetType = UNSET
    stage: StageName | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET


class PreviewRequest(RequestBody):
    """A template's text rendered with sample values, or with a property's or a lead's."""

    subject_template: SubjectTemplate = ""
    body_template: Annotated[str, msgspec.Meta(max_length=10_000)] = ""
    property_id: RecordId | None = None
    lead_id: RecordId | None = None

    not_both = ("property_id", "lead_id")


class Preview(ResponseBody):
    """What the recipient would read."""

    subject: str
    body: str


class GenerateAndSend(RequestBody):
    """Render a template for a property's owner or a lead and send it (Quick Start 3)."""

    template_id: RecordId
    property_id: RecordId | None = None
    lead_id: RecordId | None = None
    send_immediately: bool = True
    delivery_method: Channel | None = None  # default: the template's type

    one_of_required = ("property_id", "lead_id")
    not_both = ("property_id", "lead_id")


class MemoResult(ResponseBody):
    """The guide's answer: the communication made (or the one already made today for the same memo)."""

    communication_id: int
    property_id: int | None
    lead_id: int | None
    template_id: int | None
    subject: str
    body: str
    delivery_method: Channel
    recipient: str
    status: Status
    sent_at: datetime | None
    task_id: str
    error: str


class Communication(ResponseBody):
    """A message sent (or being sent) and where its delivery stands."""

    id: int
    template_id: int | None
    property_id: int | None
    lead_id: int | None
    channel: Channel
    recipient: str
    recipient_name: str
    subject: str
    body: str
    status: Status
    transport: str
    error: str
    sent_at: datetime | None
    delivered_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None
    replied_at: datetime | None
    reply_text: str
    created_at: datetime


Provider = Literal["email", "sms", "ghl", "payments"]


class ProviderWebhook(ResponseBody):
    """Where a provider posts its events for this workspace, and whether their secret is set."""

    provider: str
    webhook_url: str
    has_secret: bool
    secret_set_at: datetime | None


class ProviderSecretCreated(ResponseBody):
    """A new webhook secret, shown this once."""

    provider: str
    webhook_url: str
    secret: str


class WebhookResult(ResponseBody):
    """What a delivery of provider events did: applied, already seen (`duplicates`), or not for anything here."""

    received: int
    applied: int
    duplicates: int
    ignored: int


SequenceType = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern="^[a-z][a-z0-9_]*$", description="e.g. buyer_nurture")]
SequenceStatus = Literal["active", "stopped", "completed"]


class SequenceStart(RequestBody):
    """Start a lead's 3-7-30 day nurture sequence (EnterpriseHub: Lead Bot Management)."""

    lead_id: RecordId
    sequence_type: SequenceType = "nurture"
    channel: Channel = "email"
    template_ids: Annotated[list[RecordId], msgspec.Meta(max_length=3)] | None = None  # default: the channel's active templates


class SequenceStop(RequestBody):
    """Stop a sequence, with why."""

    sequence_id: RecordId
    reason: Annotated[str, msgspec.Meta(max_length=60)] = "stopped"


class Sequence(ResponseBody):
    """A nurture sequence and how far it has got."""

    sequence_id: int
    lead_id: int
    sequence_type: str
    channel: Channel
    status: SequenceStatus
    stop_reason: str
    next_touchpoint: datetime | None
    touchpoints_sent: int
    touchpoints_remaining: int
    started_at: datetime
    stopped_at: datetime | None


class JourneyTouchpoint(ResponseBody):
    """One touch in a lead's journey, from its timeline."""

    timestamp: datetime
    channel: str
    action: str
    summary: str
    bot: str | None


class CustomerJourney(ResponseBody):
    """A lead's journey (EnterpriseHub: Customer Journey): where it stands, its touches, and what to do next."""

    lead_id: int
    journey_stage: str
    touchpoints: list[JourneyTouchpoint]
    next_recommended_action: str
    reason: str


class ProviderEventLog(ResponseBody):
    """One event a provider posted (the log of the provider webhooks): what it was and what it did."""

    id: int
    provider: str
    event_id: str
    event_type: str
    communication_id: int | None
    outcome: str
    received_at: datetime
