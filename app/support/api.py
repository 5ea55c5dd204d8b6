"""JSON API: support tickets and their comments (NeuraCRM §6.1), the SLA settings and sentiment analysis (§4.3)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter
from saq import Queue

from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.scopes import resource_opt
from app.core.validation import list_pattern
from app.db import TenantScope
from app.support import canned, knowledge, policy, schemas, service
from app.support.sentiment import analyze
from app.web.auth import guard
from app.web.deps import INSTANT, parse_instant
from app.web.etag import IfMatch
from app.web.json import ApiResponse

# No upper bound in the schema (JSON Schema readers compare it as a float); an id past bigint is simply not found.
TicketId = Annotated[int, Parameter(description="Ticket id")]
STATUS_PATTERN = list_pattern(schemas.STATUSES)
PRIORITY_PATTERN = list_pattern(schemas.PRIORITIES)
# An id in a filter: PostgreSQL's bigint range (no record has another).
IdParam = Annotated[int | None, Parameter(ge=-(2**63), le=2**63 - 1)]


async def provide_ticket_filters(
    status: Annotated[
        str | None,
        Parameter(
            description="open, in_progress, waiting, resolved or closed; several separated by commas",
            pattern=STATUS_PATTERN,
        ),
    ] = None,
    priority: Annotated[
        str | None,
        Parameter(description="low, medium, high, urgent or critical; several separated by commas", pattern=PRIORITY_PATTERN),
    ] = None,
    assigned_to: Annotated[IdParam, Parameter(description="Tickets given to this person (agent id)")] = None,
    unassigned: Annotated[bool | None, Parameter(description="Only tickets given to nobody")] = None,
    customer_id: Annotated[IdParam, Parameter(description="Tickets of this requester (contact id)")] = None,
    category: Annotated[str | None, Parameter(max_length=60, description="Category")] = None,
    team: Annotated[str | None, Parameter(max_length=60, description="Team queue")] = None,
    q: Annotated[str | None, Parameter(max_length=100, description="Search the title and the requester's e-mail and name")] = None,
    breached: Annotated[bool | None, Parameter(description="true: an SLA clock ran past its target; false: none did")] = None,
    due_before: Annotated[
        str | None, Parameter(description="The next SLA deadline is before this instant, RFC 3339", schema_extra=INSTANT)
    ] = None,
) -> service.TicketFilters:
    """The filters of the tickets list."""
    return service.TicketFilters(
        status=service.parse_list(status, "status", schemas.STATUSES),
        priority=service.parse_list(priority, "priority", schemas.PRIORITIES),
        assigned_to=assigned_to,
        unassigned=bool(unassigned),
        customer_id=customer_id,
        category=category.strip() or None if category else None,
        team=team.strip() or None if team else None,
        q=q.strip() or None if q else None,
        breached=breached,
        due_before=parse_instant("due_before", due_before),
    )


class TicketController(Controller):
    """Support tickets: the queue, one ticket with its conversation, replies and internal notes, SLA clocks."""

    path = "/v2/support/tickets"
    opt = resource_opt("tickets")  # its scopes: tickets:read, tickets:write
    tags = ["Support"]

    @get(
        "/",
        operation_id="listTickets",
        summary="List support tickets",
        guards=[guard(policy.VIEW)],
        dependencies={"filters": Provide(provide_ticket_filters)},
        opt={SORTS_OPT: service.SORTS},
    )
    async def list_tickets(self, tenant: TenantScope, list_query: ListQuery, filters: service.TicketFilters) -> Page[schemas.Ticket]:
        """Newest first (`sort=-created_at`); `sort=due` puts the next SLA deadline first, `sort=priority` critical
        first. Agents see only the tickets given to them or that they opened."""
        return await service.list_tickets(tenant, filters, list_query)

    @post("/", operation_id="createTicket", summary="Open a ticket", guards=[guard(policy.CREATE)], status_code=201)
    async def create_ticket(self, tenant: TenantScope, data: schemas.TicketCreate) -> ApiResponse[schemas.TicketDetail]:
        """`customer_email` links the contact with that e-mail or creates it. The SLA clocks start in business hours.
        Publishes `ticket.created`."""
        ticket = await service.create_ticket(tenant, data)
        return ApiResponse(ticket, status_code=201, headers={"Location": f"/v2/support/tickets/{ticket.id}"})

    @post("/bulk-assign", operation_id="bulkAssignTickets", summary="Give several tickets to one person", guards=[guard(policy.ASSIGN)])
    async def bulk_assign(self, tenant: TenantScope, data: schemas.BulkAssign) -> schemas.BulkAssigned:
        """Each ticket given publishes `ticket.updated`; an unknown id refuses the whole request (422)."""
        return await service.bulk_assign(tenant, data)

    @get("/{ticket_id:int}", operation_id="getTicket", summary="Get a ticket with its conversation", guards=[guard(policy.VIEW)])
    async def get_ticket(self, tenant: TenantScope, ticket_id: TicketId) -> schemas.TicketDetail:
        """The ticket, its public replies and internal notes (oldest first) and the requester's address. 404 for other
        tenants' ids."""
        return await service.get_ticket(tenant, ticket_id)

    @patch("/{ticket_id:int}", operation_id="updateTicket", summary="Change a ticket", guards=[guard(policy.WORK)])
    async def update_ticket(
        self, tenant: TenantScope, ticket_id: TicketId, data: schemas.TicketUpdate, if_match: IfMatch = None
    ) -> schemas.TicketDetail:
        """Status, priority, assignee, category, tags… Honours `If-Match`. Waiting pauses the SLA clocks; resolved
        stops the resolution clock. Publishes `ticket.updated` (and `ticket.sla_breached` when met late)."""
        return await service.update_ticket(tenant, ticket_id, data, if_match=if_match)

    @post(
        "/{ticket_id:int}/comments",
        operation_id="addTicketComment",
        summary="Reply or add an internal note",
        guards=[guard(policy.WORK)],
        status_code=201,
    )
    async def add_comment(
        self, tenant: TenantScope, queue: Queue, ticket_id: TicketId, data: schemas.CommentCreate
    ) -> ApiResponse[schemas.TicketComment]:
        """`is_internal: true` is a note only the team sees. The team's first public reply meets the first-response
        SLA; a public reply is e-mailed to the requester with the link to their request page (a background job, when
        the server sends mail; `emailed_at` says when). `from_customer: true` records the customer's reply (it reopens
        a waiting or resolved ticket)."""
        comment = await service.add_comment(tenant, ticket_id, data, queue)
        return ApiResponse(comment, status_code=201, headers={"Location": f"/v2/support/tickets/{ticket_id}"})

    @get("/{ticket_id:int}/sla", operation_id="getTicketSla", summary="How the ticket's SLA is counted", guards=[guard(policy.VIEW)])
    async def sla(self, tenant: TenantScope, ticket_id: TicketId) -> schemas.SlaExplanation:
        """Both clocks now: target, due time, business minutes used and left, pauses, breaches; and the calendar."""
        return await service.explain_sla(tenant, ticket_id)

    @get(
        "/{ticket_id:int}/customer-view",
        operation_id="getTicketCustomerView",
        summary="The ticket as its requester sees it",
        guards=[guard(policy.VIEW)],
    )
    async def customer_view(self, tenant: TenantScope, ticket_id: TicketId) -> schemas.CustomerView:
        """Only the public conversation (never internal notes), and the address where the requester reads and replies."""
        return await service.customer_view(tenant, ticket_id)


class SupportSettingsController(Controller):
    """SLA targets per priority and the desk's business hours."""

    path = "/v2/support"
    opt = resource_opt("tickets")
    tags = ["Support"]

    @get("/sla-policies", operation_id="listSlaPolicies", summary="SLA targets per priority", guards=[guard(policy.VIEW)])
    async def list_policies(self, tenant: TenantScope) -> list[schemas.SlaPolicy]:
        """Every priority's first-response and resolution targets, in business minutes (`is_default`: not set by the tenant)."""
        return await service.list_sla_policies(tenant)

    @put(
        "/sla-policies/{priority:str}", operation_id="setSlaPolicy", summary="Set a priority's SLA targets", guards=[guard(policy.SETTINGS)]
    )
    async def set_policy(
        self,
        tenant: TenantScope,
        priority: Annotated[str, Parameter(description="low, medium, high, urgent or critical", max_length=10)],
        data: schemas.SlaPolicyUpdate,
    ) -> schemas.SlaPolicySaved:
        """With `category` and/or `team` in the body, an override for those tickets only (category and team beat
        category, which beats team, which beats the priority alone). Tickets opened or changed from now on are timed by
        the new targets; open tickets keep their due times unless `recompute_open: true` re-times them now
        (`recomputed_tickets` says how many moved)."""
        return await service.set_sla_policy(tenant, priority, data)

    @delete(
        "/sla-policies/{priority:str}",
        operation_id="deleteSlaPolicy",
        summary="Remove a priority's SLA override",
        guards=[guard(policy.SETTINGS)],
    )
    async def delete_policy(
        self,
        tenant: TenantScope,
        priority: Annotated[str, Parameter(description="low, medium, high, urgent or critical", max_length=10)],
        category: Annotated[str | None, Parameter(max_length=60, description="The override's category")] = None,
        team: Annotated[str | None, Parameter(max_length=60, description="The override's team queue")] = None,
        recompute_open: Annotated[bool, Parameter(description="Re-time the open tickets now")] = False,
    ) -> None:
        """Without `category` and `team`: the priority's own targets go back to the defaults. 404 when there is no such
        policy."""
        await service.delete_sla_policy(tenant, priority, category, team, recompute_open=recompute_open)

    @get("/business-hours", operation_id="getBusinessHours", summary="The desk's business hours", guards=[guard(policy.VIEW)])
    async def get_hours(self, tenant: TenantScope) -> schemas.BusinessHours:
        """Working days, hours (in the workspace's time zone) and whose public holidays are kept."""
        return await service.get_business_hours(tenant)

    @put("/business-hours", operation_id="setBusinessHours", summary="Set the desk's business hours", guards=[guard(policy.SETTINGS)])
    async def set_hours(self, tenant: TenantScope, data: schemas.BusinessHoursUpdate) -> schemas.BusinessHours:
        """`holiday_country` is an ISO 3166 code of the holidays library (`US`, `GB` with `holiday_subdivision: ENG`, `AE`)."""
        return await service.set_business_hours(tenant, data)


CannedReplyId = Annotated[int, Parameter(description="Canned reply id")]


class CannedReplyController(Controller):
    """Canned replies: the team's shared reply snippets with placeholders, filled in for a ticket."""

    path = "/v2/support/canned-replies"
    opt = resource_opt("tickets")
    tags = ["Support"]

    @get("/", operation_id="listCannedReplies", summary="List canned replies", guards=[guard(policy.CANNED_USE)])
    async def list_replies(
        self, tenant: TenantScope, category: Annotated[str | None, Parameter(max_length=60, description="Only this category")] = None
    ) -> list[schemas.CannedReply]:
        """By title, at most 500."""
        return await canned.list_replies(tenant, category.strip() or None if category else None)

    @post("/", operation_id="createCannedReply", summary="Save a canned reply", guards=[guard(policy.CANNED_MANAGE)], status_code=201)
    async def create_reply(self, tenant: TenantScope, data: schemas.CannedReplyCreate) -> ApiResponse[schemas.CannedReply]:
        """`body` may name `{{ customer_name }}`, `{{ customer_email }}`, `{{ ticket_id }}`, `{{ ticket_title }}` and
        `{{ agent_name }}`; any other placeholder, or a broken one, is refused (422, `details.reason: bad_placeholder`)."""
        reply = await canned.create_reply(tenant, data)
        return ApiResponse(reply, status_code=201, headers={"Location": f"/v2/support/canned-replies/{reply.id}"})

    @get(
        "/{reply_id:int}",
        operation_id="getCannedReply",
        summary="Get a canned reply",
        guards=[guard(policy.CANNED_USE)],
    )
    async def get_reply(self, tenant: TenantScope, reply_id: CannedReplyId) -> schemas.CannedReply:
        """404 for other tenants' ids."""
        return await canned.get_reply(tenant, reply_id)

    @patch(
        "/{reply_id:int}",
        operation_id="updateCannedReply",
        summary="Change a canned reply",
        guards=[guard(policy.CANNED_MANAGE)],
    )
    async def update_reply(self, tenant: TenantScope, reply_id: CannedReplyId, data: schemas.CannedReplyUpdate) -> schemas.CannedReply:
        """Its placeholders are checked again."""
        return await canned.update_reply(tenant, reply_id, data)

    @delete(
        "/{reply_id:int}",
        operation_id="deleteCannedReply",
        summary="Delete a canned reply",
        guards=[guard(policy.CANNED_MANAGE)],
    )
    async def delete_reply(self, tenant: TenantScope, reply_id: CannedReplyId) -> None:
        """Replies already sent keep their text."""
        await canned.delete_reply(tenant, reply_id)

    @get(
        "/{reply_id:int}/render",
        operation_id="renderCannedReply",
        summary="Fill a canned reply in for a ticket",
        guards=[guard(policy.CANNED_USE)],
    )
    async def render_reply(
        self, tenant: TenantScope, reply_id: CannedReplyId, ticket_id: Annotated[int, Parameter(ge=1, description="The ticket it answers")]
    ) -> schemas.CannedReplyRendered:
        """The text to send on that ticket (post it with `POST /v2/support/tickets/{id}/comments`)."""
        return await canned.render_for_ticket(tenant, reply_id, ticket_id)


class SentimentController(Controller):
    """Sentiment analysis (§4.3), computed locally with VADER."""

    path = "/v2/sentiment-analysis"
    opt = resource_opt("sentiment")
    tags = ["Support"]

    @post(
        "/analyze",
        operation_id="analyzeSentiment",
        summary="Analyse the sentiment of a text",
        guards=[guard(policy.SENTIMENT, write=False)],
        status_code=200,
    )
    async def analyze(self, data: schemas.SentimentRequest) -> schemas.SentimentResponse:
        """`{"success": true, "data": {sentiment, confidence, score, key_phrases, urgency, suggested_action}}`: VADER's
        compound score (-1 to 1) labelled positive/neutral/negative, the words that carried it, and an urgency hint."""
        return schemas.SentimentResponse(success=True, data=analyze(data.text, data.context))


ArticleId = Annotated[int, Parameter(description="Article id")]


class KnowledgeBaseController(Controller):
    """Knowledge-base articles (§6.2) and their full-text search."""

    path = "/v2/knowledge-base"
    opt = resource_opt("knowledge_base")
    tags = ["Knowledge base"]

    @get("/search", operation_id="searchArticles", summary="Search published articles", guards=[guard(policy.KB_VIEW)])
    async def search(
        self,
        tenant: TenantScope,
        # `query` is Litestar's own name for the whole query string: the parameter is read under its documented name.
        terms: Annotated[
            str, Parameter(query="query", min_length=1, max_length=200, description='Search terms: words, "a phrase", -not, or')
        ],
        category: Annotated[str | None, Parameter(max_length=60, description="Only this category")] = None,
        limit: Annotated[int, Parameter(ge=1, le=100, description="Max results (default 20)")] = 20,
    ) -> schemas.ArticleSearch:
        """Best first (PostgreSQL `ts_rank_cd`; a match in the title weighs most, then tags, then the body), each with a
        snippet of the body whose matches are in `<mark>` (the rest of the snippet is escaped text)."""
        return await knowledge.search(tenant, terms, category, limit)

    @get(
        "/articles",
        operation_id="listArticles",
        summary="List articles",
        guards=[guard(policy.KB_VIEW)],
        opt={SORTS_OPT: knowledge.SORTS},
    )
    async def list_articles(
        self, tenant: TenantScope, list_query: ListQuery, category: Annotated[str | None, Parameter(max_length=60)] = None
    ) -> Page[schemas.Article]:
        """Most recently updated first; drafts are listed for those who write articles."""
        return await knowledge.list_articles(tenant, list_query, category)

    @post("/articles", operation_id="createArticle", summary="Write an article", guards=[guard(policy.KB_EDIT)], status_code=201)
    async def create_article(self, tenant: TenantScope, data: schemas.ArticleCreate) -> ApiResponse[schemas.Article]:
        """`content` is HTML, sanitised (scripts, event handlers, `javascript:` links removed) before it is stored."""
        article = await knowledge.create_article(tenant, data)
        return ApiResponse(article, status_code=201, headers={"Location": f"/v2/knowledge-base/articles/{article.id}"})

    @get("/articles/{article_id:int}", operation_id="getArticle", summary="Get an article", guards=[guard(policy.KB_VIEW)])
    async def get_article(self, tenant: TenantScope, article_id: ArticleId) -> schemas.Article:
        """404 for other tenants' ids (and for drafts, to those who do not write articles)."""
        return await knowledge.get_article(tenant, article_id)

    @patch("/articles/{article_id:int}", operation_id="updateArticle", summary="Change an article", guards=[guard(policy.KB_EDIT)])
    async def update_article(self, tenant: TenantScope, article_id: ArticleId, data: schemas.ArticleUpdate) -> schemas.Article:
        """Edit, publish (`status: published`) or take back to draft."""
        return await knowledge.update_article(tenant, article_id, data)

    @delete("/articles/{article_id:int}", operation_id="deleteArticle", summary="Delete an article", guards=[guard(policy.KB_EDIT)])
    async def delete_article(self, tenant: TenantScope, article_id: ArticleId) -> None:
        """Removed for good (the audit log keeps who did it)."""
        await knowledge.delete_article(tenant, article_id)
