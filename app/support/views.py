"""Browser UI of the support desk: the ticket queue (saved views, filters in the URL, SLA countdowns, bulk assign,
live new tickets), a ticket's page (conversation with internal notes set apart, quick changes, the SLA clock
explained), a new-ticket form, and the requester's own page at their ticket's signed address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from saq import Queue

from app.accounts import service as accounts
from app.accounts.schemas import User
from app.core.errors import DomainError, ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery
from app.core.validation import convert_input
from app.db import TenantScope
from app.events.stream import latest_id
from app.support import canned, knowledge, policy, schemas, service, sla
from app.web import times
from app.web.auth import guard
from app.web.ui import Form, clean_form, form_errors, refusal_stays_on_page, render, targets

PAGE_SIZE = 25
Id = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
# "Breaching soon": the next SLA deadline within this long.
SOON = timedelta(hours=4)
# The queue's saved views: what each one filters, and its default order.
VIEWS = {
    "open": ("Open", {"status": ",".join(schemas.OPEN_STATUSES)}, "due"),
    "mine": ("My open", {"status": ",".join(schemas.OPEN_STATUSES), "assignee": "me"}, "due"),
    "soon": ("Breaching soon", {"status": ",".join(schemas.OPEN_STATUSES)}, "due"),
    "breached": ("Breached", {}, "due"),
    "unassigned": ("Unassigned", {"status": ",".join(schemas.OPEN_STATUSES), "assignee": "none"}, "due"),
    "all": ("All", {}, "-created_at"),
}
FILTERS = ("status", "priority", "assignee", "category", "q")


def sla_badge(ticket: schemas.Ticket, now: datetime) -> tuple[str, str]:
    """(css class, words) of a ticket's SLA countdown: `Due in 2 h 10 min`, `Overdue 35 min`, `Paused`, `Met`."""
    if ticket.status in ("resolved", "closed"):
        return ("sla-met" if not ticket.sla_breached else "sla-late", "Resolved late" if ticket.sla_breached else "Met")
    if ticket.sla_paused:
        return "sla-paused", "Paused (waiting)"
    due = min(
        (d for d in (None if ticket.first_responded_at else ticket.first_response_due_at, ticket.resolution_due_at) if d), default=None
    )
    if due is None:
        return "sla-met", "No deadline"
    if due < now:
        return "sla-late", f"Overdue {sla.format_duration(now - due)}"
    left = due - now
    return ("sla-soon" if left <= SOON else "sla-ok"), f"Due in {sla.format_duration(left)}"


def _state(view: str | None, **values: str | None) -> dict[str, str]:
    return {"view": view if view in VIEWS else "open", **{k: (values.get(k) or "").strip()[:100] for k in FILTERS}}


def _filters(state: dict[str, str], tenant: TenantScope) -> service.TicketFilters:
    preset = VIEWS[state["view"]][1]
    status = state["status"] or preset.get("status", "")
    assignee = state["assignee"] or preset.get("assignee", "")
    now = datetime.now(UTC)
    return service.TicketFilters(
        status=service.parse_list(status, "status", schemas.STATUSES),
        priority=service.parse_list(state["priority"], "priority", schemas.PRIORITIES),
        assigned_to=tenant.user_id if assignee == "me" else int(assignee) if assignee.isdigit() and len(assignee) < 19 else None,
        unassigned=assignee == "none",
        category=state["category"] or None,
        q=state["q"] or None,
        breached=True if state["view"] == "breached" else None,
        due_before=now + SOON if state["view"] == "soon" else None,
    )


async def _team(tenant: TenantScope) -> list[User]:
    return [u for u in await accounts.team_members(tenant) if policy.can_be_assigned(u.role)]


class TicketPagesController(Controller):
    """Ticket screens."""

    path = "/tickets"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    @get("/")
    async def queue(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        view: Annotated[str | None, Parameter(max_length=20)] = None,
        status: Annotated[str | None, Parameter(max_length=100)] = None,
        priority: Annotated[str | None, Parameter(max_length=100)] = None,
        assignee: Annotated[str | None, Parameter(max_length=19, description="a user id, 'me' or 'none'")] = None,
        category: Annotated[str | None, Parameter(max_length=60)] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        sort: Annotated[str | None, Parameter(max_length=20)] = None,
        offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
    ) -> Template:
        """The queue: a saved view (open, my open, breaching soon, breached, unassigned, all) refined by filters, all in
        the URL; SLA countdowns; bulk assign; new tickets appear live."""
        state = _state(view, status=status, priority=priority, assignee=assignee, category=category, q=q)
        return await self._queue(request, tenant, state, sort, offset)

    async def _queue(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        state: dict[str, str],
        sort: str | None,
        offset: int,
        message: str | None = None,
    ) -> Template:
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        order = sort or VIEWS[state["view"]][2]
        try:
            filters = _filters(state, tenant)
        except ValidationFailed as exc:
            message, filters = exc.human, _filters({**state, "status": "", "priority": ""}, tenant)
        page = await service.list_tickets(tenant, filters, ListQuery(limit=PAGE_SIZE, offset=offset, sort=order))
        kept = {k: v for k, v in state.items() if v and not (k == "view" and v == "open")}
        query = urlencode({**kept, **({"sort": sort} if sort else {})})
        view_url = "/tickets" + ("?" + "&".join(filter(None, (query, f"offset={offset}" if offset else ""))) if query or offset else "")
        now = datetime.now(UTC)
        ctx = {
            "active": "tickets",
            "page": page,
            "state": state,
            "sort": order,
            "query": query,
            "views": {key: label for key, (label, _, _) in VIEWS.items()},
            "view_links": {key: "/tickets" + (f"?view={key}" if key != "open" else "") for key in VIEWS},
            "team": await _team(tenant),
            "statuses": schemas.STATUSES,
            "priorities": schemas.PRIORITIES,
            "badges": {t.id: sla_badge(t, now) for t in page.data},
            "message": message,
            "live_after": live_after,
            "self_url": view_url,
        }
        return render(
            request,
            "support/queue.html",
            ctx,
            block="results" if targets(request, "ticket-results") else "content",
            push_url=None if request.method == "POST" or request.headers.get("hx-trigger") == "ticket-results" else view_url,
        )

    @post("/bulk-assign", guards=[guard(policy.ASSIGN)])
    async def bulk_assign(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Give the selected tickets to one person (or nobody), then show the queue again."""
        form = await request.form()
        ids = [int(v) for v in form.getall("ids", []) if str(v).isdigit() and len(str(v)) < 19]
        state = _state(str(form.get("view") or ""), **{k: str(form.get(k) or "") for k in FILTERS})
        sort = str(form.get("sort") or "") or None
        if not ids:
            return await self._queue(request, tenant, state, sort, 0, message="Select at least one ticket first.")
        raw = str(form.get("bulk_assignee") or "")
        assignee = int(raw) if raw.isdigit() and len(raw) < 19 else None
        done = await service.bulk_assign(tenant, schemas.BulkAssign(ticket_ids=ids, assigned_to=assignee))
        name = next((u.full_name for u in await _team(tenant) if u.id == assignee), None)
        count = f"{done.assigned} ticket{'s' if done.assigned != 1 else ''}"
        message = (f"Assigned {count} to {name}." if name else f"Unassigned {count}.") if done.assigned else "Nothing changed."
        return await self._queue(request, tenant, state, sort, 0, message=message)

    @get("/new", guards=[guard(policy.CREATE)])
    async def new(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """The form to open a ticket on a customer's behalf."""
        return await self._form(request, tenant, {}, {})

    async def _form(
        self, request: Request[Any, Any, Any], tenant: TenantScope, form: dict[str, str], errors: dict[str, str], status_code: int = 200
    ) -> Template:
        ctx = {"active": "tickets", "form": form, "errors": errors, "priorities": schemas.PRIORITIES, "team": await _team(tenant)}
        return render(request, "support/new.html", ctx, status_code=status_code)

    @post("/", guards=[guard(policy.CREATE)])
    async def create(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Open the ticket, then go to its page; errors are shown next to their fields."""
        values: dict[str, Any] = {k: v.strip() for k, v in clean_form(data).items() if v.strip()}
        if "tags" in values:
            values["tags"] = [t.strip() for t in values["tags"].split(",") if t.strip()]
        if "assigned_to" in values and values["assigned_to"].isdigit():
            values["assigned_to"] = int(values["assigned_to"])
        try:
            ticket = await service.create_ticket(tenant, convert_input(values, schemas.TicketCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._form(request, tenant, clean_form(data), form_errors(exc), status_code=422)
        return Redirect(path=f"/tickets/{ticket.id}", status_code=303)

    @get("/{ticket_id:int}")
    async def show(self, request: Request[Any, Any, Any], tenant: TenantScope, ticket_id: Id) -> Template:
        """The ticket: its conversation (internal notes set apart), quick changes, the reply form, the SLA clock."""
        return await self._show(request, tenant, ticket_id)

    async def _show(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        ticket_id: int,
        *,
        message: str | None = None,
        errors: dict[str, str] | None = None,
        draft: str = "",
        inserted: bool = False,
        status_code: int = 200,
        block: str | None = None,
    ) -> Template:
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        ticket = await service.get_ticket(tenant, ticket_id)
        explanation = await service.explain_sla(tenant, ticket_id)
        team = await _team(tenant)
        ctx = {
            "active": "tickets",
            "ticket": ticket,
            "suggested": await knowledge.suggest_for_ticket(tenant, ticket.title, ticket.description),
            "sla": explanation,
            "badge": sla_badge(ticket, datetime.now(UTC)),
            "team": team,
            "statuses": schemas.STATUSES,
            "priorities": schemas.PRIORITIES,
            "duration": lambda minutes: sla.format_duration(timedelta(minutes=minutes)),
            "message": message,
            "errors": errors or {},
            "draft": draft,
            "inserted": inserted,
            "canned": await canned.list_replies(tenant) if policy.CANNED_USE.allows(tenant) else [],
            "live_after": live_after,
        }
        return render(
            request,
            "support/ticket.html",
            ctx,
            block=block or ("ticket" if targets(request, "ticket") else "content"),
            status_code=status_code,
        )

    @get("/{ticket_id:int}/reply-box", guards=[guard(policy.WORK)])
    async def insert_canned(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        ticket_id: Id,
        canned_reply_id: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None,
        content: Annotated[str, Parameter(max_length=20_000)] = "",
    ) -> Template:
        """The reply box with a canned reply filled in for this ticket added to what was already written (htmx: just
        the box, its message focused; without JavaScript: the whole page)."""
        draft, errors = content, {}
        if canned_reply_id is not None:
            try:
                rendered = await canned.render_for_ticket(tenant, canned_reply_id, ticket_id)
                draft = f"{content.rstrip()}\n\n{rendered.body}" if content.strip() else rendered.body
            except DomainError as exc:
                if not refusal_stays_on_page(exc) and not isinstance(exc, ResourceNotFound):
                    raise
                errors = {"canned": exc.human or exc.message}
        fragment = targets(request, "reply-box")
        return await self._show(
            request, tenant, ticket_id, draft=draft, inserted=True, errors=errors, block="reply_box" if fragment else None
        )

    @post("/{ticket_id:int}", guards=[guard(policy.WORK)])
    async def quick_change(self, request: Request[Any, Any, Any], tenant: TenantScope, ticket_id: Id, data: Form) -> Template | Redirect:
        """Status, priority or assignee changed from the ticket's page (one select at a time, or the form without JS)."""
        values: dict[str, Any] = {k: v for k, v in clean_form(data).items() if k in ("status", "priority", "assigned_to")}
        if "assigned_to" in values:
            raw = values["assigned_to"].strip()
            values["assigned_to"] = int(raw) if raw.isdigit() and len(raw) < 19 else None
        try:
            ticket = await service.update_ticket(tenant, ticket_id, convert_input(values, schemas.TicketUpdate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc) and not getattr(request, "htmx", None):
                raise
            return await self._show(
                request,
                tenant,
                ticket_id,
                errors={"quick": exc.human or exc.message},
                status_code=422 if refusal_stays_on_page(exc) else 403,
            )
        if not getattr(request, "htmx", None):
            return Redirect(path=f"/tickets/{ticket_id}", status_code=303)
        return await self._show(
            request,
            tenant,
            ticket_id,
            message=f"Saved: {ticket.status.replace('_', ' ')}, {ticket.priority}, {ticket.assigned_to_name or 'unassigned'}.",
        )

    @post("/{ticket_id:int}/comments", guards=[guard(policy.WORK)])
    async def comment(
        self, request: Request[Any, Any, Any], tenant: TenantScope, queue: Queue, ticket_id: Id, data: Form
    ) -> Template | Redirect:
        """A public reply (e-mailed to the requester) or an internal note (the button pressed says which); a reply may
        also set the status."""
        internal = data.get("visibility") == "internal"
        try:
            await service.add_comment(
                tenant,
                ticket_id,
                convert_input({"content": data.get("content", ""), "is_internal": internal}, schemas.CommentCreate),
                queue,
            )
            status = data.get("then_status", "")
            if status and not internal:
                await service.update_ticket(tenant, ticket_id, convert_input({"status": status}, schemas.TicketUpdate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._show(
                request, tenant, ticket_id, errors={"content": exc.human or exc.message}, draft=data.get("content", ""), status_code=422
            )
        if not getattr(request, "htmx", None):
            return Redirect(path=f"/tickets/{ticket_id}", status_code=303)
        return await self._show(request, tenant, ticket_id, message="Internal note added." if internal else "Reply sent to the customer.")


def _customer_page(request: Request[Any, Any, Any], view: schemas.CustomerView, token: str, **extra: Any) -> Template:
    """The requester's page, with times in the workspace's zone (the requester has no account to choose one)."""

    def when(value: datetime | None, style: str = "datetime", *, empty: str = "") -> Any:
        return times.when(value, style, view.time_zone, empty=empty)

    status_code = extra.pop("status_code", 200)
    ctx = {"view": view, "token": token, "errors": {}, "when": when, **extra}
    return render(request, "support/customer.html", ctx, status_code=status_code)


class CustomerRequestController(Controller):
    """The requester's page: their ticket's public conversation and a reply box, at its signed address (no login)."""

    path = "/support/requests"
    include_in_schema = False

    @get("/{token:str}")
    async def show(self, request: Request[Any, Any, Any], token: Annotated[str, Parameter(max_length=80)]) -> Template:
        """Only public messages: internal notes, the assignee and the SLA never reach this page."""
        view = await service.customer_view_by_token(token)
        if view is None:
            raise NotFoundException("No such request")
        return _customer_page(request, view, token)

    @post("/{token:str}")
    async def reply(self, request: Request[Any, Any, Any], token: Annotated[str, Parameter(max_length=80)], data: Form) -> Template:
        """The customer's reply: public, and it reopens a waiting or resolved ticket."""
        try:
            view = await service.customer_reply_by_token(token, data.get("content", ""))
        except ValidationFailed as exc:
            view = await service.customer_view_by_token(token)
            if view is None:
                raise NotFoundException("No such request") from None
            return _customer_page(request, view, token, errors={"content": exc.human}, status_code=422)
        if view is None:
            raise NotFoundException("No such request")
        return _customer_page(request, view, token, message="Thank you: your reply was sent.")


class KnowledgeBasePagesController(Controller):
    """Knowledge-base screens: search with highlighted snippets, an article, the editor."""

    path = "/knowledge-base"
    include_in_schema = False
    guards = [guard(policy.KB_VIEW)]

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        category: Annotated[str | None, Parameter(max_length=60)] = None,
    ) -> Template:
        """Active search (the terms in the URL); without terms, the latest articles."""
        terms = (q or "").strip()
        state = {"q": terms, "category": (category or "").strip()}
        hits = await knowledge.search(tenant, terms, state["category"] or None, 25) if terms else None
        latest = None if terms else await knowledge.list_articles(tenant, ListQuery(limit=50), state["category"] or None)
        url = "/knowledge-base" + ("?" + urlencode({k: v for k, v in state.items() if v}) if any(state.values()) else "")
        ctx = {"active": "knowledge-base", "state": state, "hits": hits, "latest": latest}
        return render(
            request, "support/knowledge_base.html", ctx, block="results" if targets(request, "kb-results") else "content", push_url=url
        )

    @get("/new", guards=[guard(policy.KB_EDIT)])
    async def new(self, request: Request[Any, Any, Any]) -> Template:
        """The editor, empty."""
        return render(request, "support/article_form.html", {"active": "knowledge-base", "article": None, "form": {}, "errors": {}})

    @get("/{article_id:int}")
    async def show(self, request: Request[Any, Any, Any], tenant: TenantScope, article_id: Id) -> Template:
        """An article, its sanitised HTML shown as is."""
        article = await knowledge.get_article(tenant, article_id)
        return render(request, "support/article.html", {"active": "knowledge-base", "article": article})

    @get("/{article_id:int}/edit", guards=[guard(policy.KB_EDIT)])
    async def edit(self, request: Request[Any, Any, Any], tenant: TenantScope, article_id: Id) -> Template:
        """The editor, filled."""
        article = await knowledge.get_article(tenant, article_id)
        form = {
            "title": article.title,
            "content": article.content,
            "category": article.category,
            "tags": ", ".join(article.tags),
            "status": article.status,
        }
        return render(request, "support/article_form.html", {"active": "knowledge-base", "article": article, "form": form, "errors": {}})

    @post("/", guards=[guard(policy.KB_EDIT)])
    async def create(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Save a new article (its HTML sanitised), then show it."""
        return await self._save(request, tenant, None, data)

    @post("/{article_id:int}", guards=[guard(policy.KB_EDIT)])
    async def update(self, request: Request[Any, Any, Any], tenant: TenantScope, article_id: Id, data: Form) -> Template | Redirect:
        """Save the changes, then show the article."""
        return await self._save(request, tenant, article_id, data)

    async def _save(self, request: Request[Any, Any, Any], tenant: TenantScope, article_id: int | None, data: Form) -> Template | Redirect:
        values: dict[str, Any] = {k: v for k, v in clean_form(data).items() if k in ("title", "content", "category", "tags", "status")}
        values["tags"] = [t.strip() for t in values.get("tags", "").split(",") if t.strip()]
        values["title"] = values.get("title", "").strip()
        if not values.get("category", "").strip():
            values.pop("category", None)  # the default category
        try:
            if article_id is None:
                article = await knowledge.create_article(tenant, convert_input(values, schemas.ArticleCreate))
            else:
                article = await knowledge.update_article(tenant, article_id, convert_input(values, schemas.ArticleUpdate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            current = await knowledge.get_article(tenant, article_id) if article_id else None
            ctx = {"active": "knowledge-base", "article": current, "form": clean_form(data), "errors": form_errors(exc)}
            return render(request, "support/article_form.html", ctx, status_code=422)
        return Redirect(path=f"/knowledge-base/{article.id}", status_code=303)


class CannedReplyPagesController(Controller):
    """The team's canned replies: listed for whoever answers tickets; added, changed and removed by support staff and
    admins, with the placeholders they may use explained and a bad one refused next to the body."""

    path = "/canned-replies"
    include_in_schema = False
    guards = [guard(policy.CANNED_USE)]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        *,
        editing: schemas.CannedReply | None = None,
        form: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        message: str | None = None,
        status_code: int = 200,
    ) -> Template:
        if form is None:
            form = {"title": editing.title, "body": editing.body, "category": editing.category or ""} if editing else {}
        ctx = {
            "active": "tickets",
            "replies": await canned.list_replies(tenant),
            "placeholders": canned.PLACEHOLDERS,
            "editing": editing,
            "form": form,
            "errors": errors or {},
            "message": message,
        }
        return render(request, "support/canned_replies.html", ctx, status_code=status_code)

    @get("/")
    async def index(
        self, request: Request[Any, Any, Any], tenant: TenantScope, edit: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None
    ) -> Template:
        """The list, and the form to add one (or to change the one named by `?edit=`)."""
        editing = await canned.get_reply(tenant, edit) if edit is not None and policy.CANNED_MANAGE.allows(tenant) else None
        return await self._page(request, tenant, editing=editing)

    @post("/", guards=[guard(policy.CANNED_MANAGE)])
    async def create(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Save a new canned reply; a bad placeholder is shown next to the body and nothing is saved."""
        return await self._save(request, tenant, None, data)

    @post("/{reply_id:int}", guards=[guard(policy.CANNED_MANAGE)])
    async def update(self, request: Request[Any, Any, Any], tenant: TenantScope, reply_id: Id, data: Form) -> Template | Redirect:
        """Save the changes."""
        return await self._save(request, tenant, reply_id, data)

    @post("/{reply_id:int}/delete", guards=[guard(policy.CANNED_MANAGE)])
    async def delete(self, tenant: TenantScope, reply_id: Id) -> Redirect:
        """Remove it, then show the list."""
        await canned.delete_reply(tenant, reply_id)
        return Redirect(path="/canned-replies", status_code=303)

    async def _save(self, request: Request[Any, Any, Any], tenant: TenantScope, reply_id: int | None, data: Form) -> Template | Redirect:
        values: dict[str, Any] = {k: v for k, v in clean_form(data).items() if k in ("title", "body", "category")}
        values["title"] = values.get("title", "").strip()
        values["category"] = values.get("category", "").strip() or None
        try:
            if reply_id is None:
                await canned.create_reply(tenant, convert_input(values, schemas.CannedReplyCreate))
            else:
                await canned.update_reply(tenant, reply_id, convert_input(values, schemas.CannedReplyUpdate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            editing = await canned.get_reply(tenant, reply_id) if reply_id else None
            return await self._page(request, tenant, editing=editing, form=clean_form(data), errors=form_errors(exc), status_code=422)
        return Redirect(path="/canned-replies", status_code=303)


DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class SlaSettingsPagesController(Controller):
    """Settings → SLA & hours (admins): the desk's working days and hours in the workspace's time zone, whose public
    holidays it keeps, targets per priority and the category/team overrides, each change optionally re-timing the
    open tickets."""

    path = "/settings/sla"
    include_in_schema = False
    guards = [guard(policy.SETTINGS)]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        *,
        hours_form: dict[str, Any] | None = None,
        targets_form: dict[str, str] | None = None,
        override_form: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        message: str | None = None,
        status_code: int = 200,
    ) -> Template:
        hours = await service.get_business_hours(tenant)
        policies = await service.list_sla_policies(tenant)
        base = [p for p in policies if p.category is None and p.team is None]
        if hours_form is None:
            hours_form = {
                "work_days": hours.work_days,
                "opens_at": hours.opens_at,
                "closes_at": hours.closes_at,
                "holiday_country": hours.holiday_country or "",
                "holiday_subdivision": hours.holiday_subdivision or "",
            }
        if targets_form is None:
            targets_form = {}
            for p in base:
                targets_form[f"first_{p.priority}"] = str(p.first_response_minutes)
                targets_form[f"resolution_{p.priority}"] = str(p.resolution_minutes)
        ctx = {
            "active": "settings",
            "tab": "sla",
            "hours": hours,
            "hours_form": hours_form,
            "targets_form": targets_form,
            "override_form": override_form or {},
            "base": base,
            "overrides": [p for p in policies if p.category is not None or p.team is not None],
            "priorities": schemas.PRIORITIES,
            "days": list(enumerate(DAY_NAMES, start=1)),
            "countries": sla.holiday_country_names(),
            "subdivisions": sla.holiday_subdivisions(str(hours_form.get("holiday_country") or "")),
            "errors": errors or {},
            "message": message,
        }
        return render(request, "support/sla_settings.html", ctx, status_code=status_code)

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        saved: Annotated[str | None, Parameter(max_length=20)] = None,
        retimed: Annotated[int | None, Parameter(ge=0, le=10_000_000)] = None,
    ) -> Template:
        """The three forms, filled with what is in force (and what the last save did)."""
        words = {
            "hours": "Business hours saved.",
            "targets": "Targets saved.",
            "override": "Override saved.",
            "removed": "Override removed.",
        }
        message = words.get(saved or "")
        if message:
            message += (
                f" {retimed} open ticket{'s' if retimed != 1 else ''} re-timed."
                if retimed is not None
                else " Open tickets keep their due times until they next change."
            )
        return await self._page(request, tenant, message=message)

    @post("/hours")
    async def save_hours(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template | Redirect:
        """Save the working days, hours and holidays; every problem shown next to its field, nothing saved then."""
        form = await request.form()
        days = [int(v) for v in form.getall("work_days", []) if str(v).isdigit() and len(str(v)) < 3]
        values: dict[str, Any] = {
            "work_days": days,
            "opens_at": str(form.get("opens_at") or "").strip()[:5],
            "closes_at": str(form.get("closes_at") or "").strip()[:5],
            "holiday_country": str(form.get("holiday_country") or "").strip().upper() or None,
            "holiday_subdivision": str(form.get("holiday_subdivision") or "").strip().upper() or None,
        }
        try:
            await service.set_business_hours(tenant, convert_input(values, schemas.BusinessHoursUpdate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            shown = {
                **values,
                "holiday_country": values["holiday_country"] or "",
                "holiday_subdivision": values["holiday_subdivision"] or "",
            }
            errors = {f"hours_{k}": v for k, v in form_errors(exc).items()}
            return await self._page(request, tenant, hours_form=shown, errors=errors, status_code=422)
        return Redirect(path="/settings/sla?saved=hours", status_code=303)

    @post("/targets")
    async def save_targets(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Save the targets that changed (all checked before any is written); open tickets re-timed only when ticked."""
        form = clean_form(data)
        current = {p.priority: p for p in await service.list_sla_policies(tenant) if p.category is None and p.team is None}
        recompute = form.get("recompute_open") == "1"
        changes: dict[str, schemas.SlaPolicyUpdate] = {}
        errors: dict[str, str] = {}
        for priority in schemas.PRIORITIES:
            first, resolution = form.get(f"first_{priority}", "").strip(), form.get(f"resolution_{priority}", "").strip()
            was = current[priority]
            if first == str(was.first_response_minutes) and resolution == str(was.resolution_minutes):
                continue  # unchanged (a default left as it is stays a default)
            values = {"first_response_minutes": first, "resolution_minutes": resolution, "recompute_open": recompute}
            try:
                update = convert_input(
                    {k: int(v) if isinstance(v, str) and v.isdigit() and len(v) < 10 else v for k, v in values.items()},
                    schemas.SlaPolicyUpdate,
                )
                if update.resolution_minutes < update.first_response_minutes:
                    errors[f"resolution_{priority}"] = "Give at least as long to resolve as to first respond"
                changes[priority] = update
            except DomainError as exc:
                for name, words in form_errors(exc).items():
                    errors["first_" + priority if name.startswith("first") else "resolution_" + priority] = words
        if errors:
            return await self._page(request, tenant, targets_form=form, errors=errors, status_code=422)
        saved = await service.set_sla_policies(tenant, changes) if changes else []
        moved = sum(s.recomputed_tickets for s in saved)
        return Redirect(
            path=f"/settings/sla?saved=targets&retimed={moved}" if recompute else "/settings/sla?saved=targets", status_code=303
        )

    @post("/overrides")
    async def save_override(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Add (or change) a category and/or team override of a priority."""
        form = clean_form(data)
        values: dict[str, Any] = {
            "first_response_minutes": form.get("first_response_minutes", "").strip(),
            "resolution_minutes": form.get("resolution_minutes", "").strip(),
            "category": form.get("category", "").strip() or None,
            "team": form.get("team", "").strip() or None,
            "recompute_open": form.get("recompute_open") == "1",
        }
        for name in ("first_response_minutes", "resolution_minutes"):
            if values[name].isdigit() and len(values[name]) < 10:
                values[name] = int(values[name])
        priority = form.get("priority", "")
        try:
            if values["category"] is None and values["team"] is None:
                raise ValidationFailed(
                    "Invalid category: an override names a category, a team or both",
                    details={"field": "category", "expected": "a category or a team"},
                    human="Name a category, a team queue or both (the targets per priority are above)",
                )
            if priority not in schemas.PRIORITIES:
                raise ValidationFailed("Invalid priority", details={"field": "priority"}, human="Choose a priority")
            saved = await service.set_sla_policy(tenant, priority, convert_input(values, schemas.SlaPolicyUpdate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._page(
                request, tenant, override_form=form, errors={f"override_{k}": v for k, v in form_errors(exc).items()}, status_code=422
            )
        suffix = f"&retimed={saved.recomputed_tickets}" if values["recompute_open"] else ""
        return Redirect(path=f"/settings/sla?saved=override{suffix}", status_code=303)

    @post("/overrides/delete")
    async def delete_override(self, tenant: TenantScope, data: Form) -> Redirect:
        """Remove an override (its tickets fall back to the next most specific policy as they next change)."""
        form = clean_form(data)
        await service.delete_sla_policy(
            tenant,
            form.get("priority", ""),
            form.get("category") or None,
            form.get("team") or None,
            recompute_open=form.get("recompute_open") == "1",
        )
        return Redirect(path="/settings/sla?saved=removed", status_code=303)
