"""Request and response types of the support desk (one schema per shape: validation, JSON and OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import Email, RequestBody, ResponseBody

TicketStatus = Literal["open", "in_progress", "waiting", "resolved", "closed"]
TicketPriority = Literal["low", "medium", "high", "urgent", "critical"]
STATUSES: tuple[str, ...] = TicketStatus.__args__  # type: ignore[attr-defined]
PRIORITIES: tuple[str, ...] = TicketPriority.__args__  # type: ignore[attr-defined]
# The SLA clocks stand still in these statuses (waiting on the customer; done).
PAUSED_STATUSES = ("waiting", "resolved", "closed")
OPEN_STATUSES = ("open", "in_progress", "waiting")

Id = Annotated[int, msgspec.Meta(ge=1)]
BIGINT_MAX = 2**63 - 1
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern="[^\\s]")]
Text = Annotated[str, msgspec.Meta(max_length=20_000)]
Content = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000, pattern="[^\\s]")]
Category = Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern="^[A-Za-z0-9_ .-]+$")]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=40, description="A label; blank ones are dropped")]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=20)]
Team = Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern="^[A-Za-z0-9_ .-]+$")]
CustomerName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern="[^\\s]")]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=525_600, description="Business minutes")]
ClockTime = Annotated[str, msgspec.Meta(pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, in the tenant's time zone")]


class Ticket(ResponseBody):
    """A support ticket as the queue and the API show it. `customer_id` is the requester's contact.

    SLA: `first_response_due_at` and `resolution_due_at` are counted in the tenant's business hours and are null
    while the clock stands still (`sla_paused`: waiting on the customer) or once met; `sla_breached` says whether
    either clock ran past its target."""

    id: int
    tenant_id: int
    title: str
    description: str
    status: str
    priority: str
    category: str
    tags: list[str]
    team: str
    customer_id: int | None
    customer_email: str | None
    customer_name: str | None
    assigned_to: int | None
    assigned_to_name: str | None
    created_by: int | None
    sentiment: str | None
    sentiment_score: float | None
    urgency: str | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    sla_paused: bool
    sla_breached: bool
    comments_count: int
    created_at: datetime
    updated_at: datetime


class TicketComment(ResponseBody):
    """A public reply (`is_internal: false`, the customer sees it) or an internal note; `author_type` is `staff` or
    `customer`."""

    id: int
    ticket_id: int
    content: str
    is_internal: bool
    author_type: str
    author_id: int | None
    author_name: str
    sentiment: str | None
    sentiment_score: float | None
    created_at: datetime
    emailed_at: datetime | None = None  # a public reply: when it was e-mailed to the requester


class SlaClock(ResponseBody):
    """One SLA clock, explained: its target, when it is due (null while paused or once met), the business time it
    has run and has left, and whether it was met or breached."""

    name: str
    target_minutes: int
    due_at: datetime | None
    used_minutes: int
    remaining_minutes: int
    paused: bool
    met_at: datetime | None
    breached: bool
    breached_at: datetime | None


class SlaExplanation(ResponseBody):
    """How a ticket's SLA is counted: its policy, the business calendar, the pauses and both clocks."""

    priority: str
    time_zone: str
    business_hours: str
    holidays: str
    pauses: list[list[datetime | None]]
    first_response: SlaClock
    resolution: SlaClock


class TicketDetail(Ticket):
    """One ticket with its conversation (oldest first, internal notes included) and the requester's address (its SLA
    clocks explained: `GET /v2/support/tickets/{id}/sla`, which changes by the minute and so has its own ETag)."""

    comments: list[TicketComment]
    customer_url: str


class TicketCreate(RequestBody, kw_only=True):
    """A new ticket (§6.1). The requester is a contact (`customer_id`), or `customer_email` (+ `customer_name`): the
    contact with that e-mail is linked, or created. `assigned_to` must be someone who works tickets."""

    title: Title
    description: Text = ""
    priority: TicketPriority = "medium"
    category: Category = "general"
    tags: Tags = msgspec.field(default_factory=list)
    team: Team = "support"
    customer_id: Id | None = None
    customer_email: Email | None = None
    customer_name: CustomerName | None = None
    assigned_to: Id | None = None


class TicketUpdate(RequestBody, kw_only=True):
    """A partial change; fields left out are unchanged. Status moves freely between the five statuses; waiting
    pauses the SLA clocks, resolved stops the resolution clock, a customer reply reopens a waiting or resolved one."""

    title: Title | UnsetType = UNSET
    description: Text | UnsetType = UNSET
    status: TicketStatus | UnsetType = UNSET
    priority: TicketPriority | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    team: Team | UnsetType = UNSET
    assigned_to: Id | UnsetType | None = UNSET
    customer_id: Id | UnsetType | None = UNSET


class CommentCreate(RequestBody, kw_only=True):
    """A reply (§6.1): public unless `is_internal`. `from_customer: true` records the customer's own reply (an
    integration passing on their e-mail): always public, it reopens a waiting, resolved or closed ticket."""

    content: Content
    is_internal: bool = False
    from_customer: bool = False


class BulkAssign(RequestBody, kw_only=True):
    """Give several tickets to one person (or to nobody with `assigned_to: null`)."""

    ticket_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=100)]
    assigned_to: Id | None


class BulkAssigned(ResponseBody):
    """How many of the tickets were given (tickets already theirs are left alone)."""

    assigned: int
    ticket_ids: list[int]


class CustomerMessage(ResponseBody):
    """A public message as the requester sees it: who wrote it (the customer, or the support team's person) and when."""

    id: int
    content: str
    from_customer: bool
    author_name: str
    created_at: datetime


class CustomerView(ResponseBody):
    """What the requester sees of their ticket: no internal notes, no assignee, no SLA."""

    id: int
    title: str
    description: str
    status: str
    created_at: datetime
    messages: list[CustomerMessage]
    url: str
    time_zone: str  # the workspace's: the requester's page shows times in it


class SlaPolicy(ResponseBody):
    """Targets for one priority, in business minutes: for every ticket of it, or (`category` and/or `team` set) an
    override for those tickets only; the most specific policy matching a ticket times it."""

    priority: str
    first_response_minutes: int
    resolution_minutes: int
    is_default: bool
    category: str | None = None
    team: str | None = None


class SlaPolicySaved(SlaPolicy):
    """The policy as saved, and how many open tickets were re-timed (0 unless `recompute_open` was asked)."""

    recomputed_tickets: int = 0


class SlaPolicyUpdate(RequestBody, kw_only=True):
    """New targets for a priority; resolution must be at least the first response. With `category` and/or `team`, an
    override for those tickets only. Open tickets keep their due times until they next change unless `recompute_open`
    is true: then their running clocks are re-timed now."""

    first_response_minutes: Minutes
    resolution_minutes: Minutes
    category: Category | None = None
    team: Team | None = None
    recompute_open: bool = False


class BusinessHours(ResponseBody):
    """When the desk works: ISO weekdays (1 = Monday), hours in the tenant's time zone, whose holidays it keeps."""

    time_zone: str
    work_days: list[int]
    opens_at: str
    closes_at: str
    holiday_country: str | None
    holiday_subdivision: str | None


class BusinessHoursUpdate(RequestBody, kw_only=True):
    """New business hours (the time zone is the workspace's, set under Settings → Team)."""

    work_days: Annotated[list[Annotated[int, msgspec.Meta(ge=1, le=7)]], msgspec.Meta(min_length=1, max_length=7)]
    opens_at: ClockTime
    closes_at: ClockTime
    holiday_country: Annotated[str, msgspec.Meta(pattern="^[A-Z]{2,3}$")] | None = None
    holiday_subdivision: Annotated[str, msgspec.Meta(max_length=10)] | None = None


CannedTitle = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern="[^\\s]")]
CannedBody = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=20_000,
        pattern="[^\\s]",
        description="Text with placeholders: {{ customer_name }}, {{ ticket_id }}, {{ ticket_title }}, {{ agent_name }}",
    ),
]


class CannedReply(ResponseBody):
    """A saved reply shared by the tenant's team; `body` holds placeholders filled in when it is inserted."""

    id: int
    title: str
    body: str
    category: str | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class CannedReplyCreate(RequestBody, kw_only=True):
    """A new canned reply. A placeholder other than the documented ones, or a broken one, is refused (422)."""

    title: CannedTitle
    body: CannedBody
    category: Category | None = None


class CannedReplyUpdate(RequestBody, kw_only=True):
    """A partial change of a canned reply."""

    title: CannedTitle | UnsetType = UNSET
    body: CannedBody | UnsetType = UNSET
    category: Category | UnsetType | None = UNSET


class CannedReplyRendered(ResponseBody):
    """A canned reply filled in for one ticket: the text to send."""

    id: int
    ticket_id: int
    body: str


class SentimentRequest(RequestBody, kw_only=True):
    """Text to analyse (§4.3); `context` says where it comes from (support_ticket, email, call, chat…)."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]
    context: Annotated[str, msgspec.Meta(max_length=60)] = "general"


class Sentiment(ResponseBody):
    """VADER's reading of a text: its label, a confidence, the compound score (-1 to 1), the words that carried it, an
    urgency hint and what to do."""

    sentiment: Literal["positive", "neutral", "negative"]
    confidence: float
    score: float
    key_phrases: list[str]
    urgency: Literal["low", "medium", "high"]
    suggested_action: str


class SentimentResponse(ResponseBody):
    """`POST /v2/sentiment-analysis/analyze` as the NeuraCRM guide's §4.3 answers it."""

    success: bool
    data: Sentiment


ArticleStatus = Literal["draft", "published"]


class Article(ResponseBody):
    """A knowledge-base article; `content` is sanitised HTML."""

    id: int
    title: str
    content: str
    category: str
    tags: list[str]
    status: str
    author_id: int | None
    created_at: datetime
    updated_at: datetime


class ArticleCreate(RequestBody, kw_only=True):
    """A new article (§6.2): HTML `content` is sanitised (scripts, event handlers and unsafe links removed)."""

    title: Title
    content: Annotated[str, msgspec.Meta(max_length=200_000)] = ""
    category: Category = "general"
    tags: Tags = msgspec.field(default_factory=list)
    status: ArticleStatus = "published"


class ArticleUpdate(RequestBody, kw_only=True):
    """A partial change of an article."""

    title: Title | UnsetType = UNSET
    content: Annotated[str, msgspec.Meta(max_length=200_000)] | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    status: ArticleStatus | UnsetType = UNSET


class ArticleHit(ResponseBody):
    """A search result: the article, its rank and a snippet with the matched words in `<mark>`."""

    id: int
    title: str
    category: str
    tags: list[str]
    rank: float
    snippet: str
    updated_at: datetime


class ArticleSearch(ResponseBody):
    """`GET /v2/knowledge-base/search`: best first."""

    query: str
    total: int
    data: list[ArticleHit]
