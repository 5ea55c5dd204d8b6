"""Browser UI for leads: list, search, detail with timeline, click-to-edit, new-lead form."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Parameter
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Response, Stream, Template
from saq import Queue

from app.accounts import service as accounts
from app.core.errors import DomainError, ValidationFailed
from app.core.pagination import ListQuery
from app.core.validation import convert_input
from app.core.versions import etag_of_resource
from app.db import TenantScope
from app.events.stream import latest_id
from app.leads import bulk, export, policy, schemas, service
from app.leads.scoring import score_lead
from app.savedviews import service as saved_views
from app.settings import Settings
from app.web.auth import guard
from app.web.context import principal_of
from app.web.ui import Form, clean_form, form_errors, is_fragment, refusal_stays_on_page, render, targets

PAGE_SIZE = 25
EDITABLE = (
    "name",
    "phone",
    "email",
    "source",
    "language",
    "budget_min",
    "budget_max",
    "budget_currency",
    "transaction_type",
    "property_type",
    "purpose",
    "bedrooms_min",
    "bedrooms_max",
    "preferred_location",
    "urgency_score",
    "campaign_id",
)
CHOICES = {
    "status": schemas.STATUSES,
    "transaction_type": schemas.TransactionType.__args__,  # type: ignore[attr-defined]
    "property_type": schemas.PropertyType.__args__,  # type: ignore[attr-defined]
    "purpose": schemas.Purpose.__args__,  # type: ignore[attr-defined]
    "temperature": ("hot", "warm", "cold"),
}
# Fields that cannot be emptied (a cleared input leaves them unchanged).
REQUIRED_TEXT = ("name", "source", "language", "budget_currency")


LeadId = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
BASIC_FILTERS = ("q", "status", "temperature", "property_type", "agent", "campaign", "deleted")
# The "More filters" of the list (ArtinSmartRealty §4.2's advanced filters), read leniently from the URL like the others.
MORE_FILTERS = ("transaction_type", "purpose", "source", "language", "budget_min", "budget_max", "score_min", "score_max", "bedrooms",
                "location", "tag", "created_from", "created_to", "updated_from", "updated_to", "touched_from", "touched_to",
                "has_phone", "has_email", "overdue", "no_next_step")  # fmt: skip
SCREEN_FILTERS = BASIC_FILTERS + MORE_FILTERS
# Columns a person may show or hide (name, status, budget, score and created always show), and those shown at first.
COLUMNS = {"contact": "Contact", "property": "Property", "agent": "Agent", "next": "Next activity", "last": "Last activity",
           "source": "Source"}  # fmt: skip
DEFAULT_COLUMNS = ("contact", "property", "agent", "next", "last")
PAGE_SIZES = (25, 50, 100)
FILTER_LABELS = {"q": "Search", "status": "Status", "temperature": "Temperature", "property_type": "Property", "agent": "Agent",
                 "campaign": "Campaign", "deleted": "Deleted", "transaction_type": "Transaction", "purpose": "Purpose",
                 "source": "Source", "language": "Language", "budget_min": "Budget from", "budget_max": "Budget to",
                 "score_min": "Score from", "score_max": "Score to", "bedrooms": "Bedrooms", "location": "Location", "tag": "Tag",
                 "created_from": "Created from", "created_to": "Created to", "updated_from": "Changed from", "updated_to": "Changed to",
                 "touched_from": "Last touch from", "touched_to": "Last touch to", "has_phone": "Phone", "has_email": "E-mail",
                 "overdue": "Overdue task", "no_next_step": "No next step"}  # fmt: skip
YES_NO = {"yes": True, "no": False}
MONEY = re.compile(r"\d{1,13}(\.\d{1,2})?")


def _layout(cols: list[str] | None, per: str | None) -> dict[str, str]:
    """The list's chosen columns and page size, as they appear in its URL (empty: the defaults)."""
    chosen = [c for raw in cols or [] for c in raw.split(",") if c in COLUMNS]
    picked = ",".join(c for c in COLUMNS if c in chosen)
    named = bool(cols)  # the form always sends `cols` (a hidden `name`), so "none chosen" differs from "never chosen"
    return {
        "cols": (picked or "none") if named and picked != ",".join(DEFAULT_COLUMNS) else "",
        "per": per if per in {str(n) for n in PAGE_SIZES[1:]} else "",
    }


def _columns(layout: dict[str, str]) -> tuple[str, ...]:
    if not layout["cols"]:
        return DEFAULT_COLUMNS
    return tuple(c for c in layout["cols"].split(",") if c in COLUMNS)


def _chips(
    state: dict[str, str], layout: dict[str, str], sort: str, team: list[Any], campaigns: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """The active filters as removable chips: (what it says, the list's URL without it)."""
    names = {str(u.id): u.full_name for u in team} | {"none": "Unassigned", "any": "Anyone"}
    campaign_names = {str(c["id"]): c["name"] for c in campaigns}
    chips = []
    for key, value in state.items():
        if not value or (key == "agent" and value == "any"):
            continue
        if key == "agent":
            shown = names.get(value, value)
        elif key == "campaign":
            shown = campaign_names.get(value, value)
        elif key in ("deleted", "overdue", "no_next_step"):
            shown = "yes"
        else:
            shown = value.replace("_", " ").title() if key in CHOICES or key == "has_phone" or key == "has_email" else value
        rest = {k: v for k, v in state.items() if v and k != key} | ({"agent": "any"} if key == "agent" else {})
        query = urlencode({**rest, **{k: v for k, v in layout.items() if v}, **({"sort": sort} if sort != "-created_at" else {})})
        chips.append((f"{FILTER_LABELS[key]}: {shown}", f"/leads?{query}" if query else "/leads"))
    return chips


def _screen_state(**values: Any) -> dict[str, str]:
    """The leads screen's filters as strings, as they appear in its URL and forms."""
    return {k: str(values.get(k) or "") for k in SCREEN_FILTERS}


def _state_of(values: Any) -> dict[str, str]:
    """The screen's filters from a query string or a form (anything with `.get`)."""
    return _screen_state(**{k: values.get(k) for k in SCREEN_FILTERS})


def _zone(request: Request[Any, Any, Any]) -> str:
    """The viewer's time zone (the days of the date filters are theirs)."""
    principal = principal_of(request.scope)  # type: ignore[arg-type]
    return principal.time_zone if principal else "UTC"


def _number(raw: str, low: int, high: int) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) < 6 and low <= int(raw) <= high else None


def _day_start(raw: str, zone: str, *, after: bool = False) -> datetime | None:
    """The start of a `YYYY-MM-DD` day in the viewer's zone (`after`: of the next day, for an inclusive end), in UTC."""
    try:
        day = date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    if day is None:
        return None
    start = datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))
    return (start + timedelta(days=1) if after else start).astimezone(UTC)


def _filters(state: dict[str, str], zone: str = "UTC") -> service.LeadFilters:
    """The list filters of the leads screen (lenient: unknown values are ignored, not errors); dates are days in `zone`."""
    agent = state.get("agent", "")
    money = {k: Decimal(v) if MONEY.fullmatch(v := state.get(k, "")) else None for k in ("budget_min", "budget_max")}
    text = {k: (state.get(k) or "").strip()[:100] or None for k in ("source", "language", "location", "tag")}
    return service.LeadFilters(
        transaction_type=state["transaction_type"] if state.get("transaction_type") in CHOICES["transaction_type"] else None,
        purpose=state["purpose"] if state.get("purpose") in CHOICES["purpose"] else None,
        budget_min=money["budget_min"],
        budget_max=money["budget_max"],
        score_min=_number(state.get("score_min", ""), 0, 100),
        score_max=_number(state.get("score_max", ""), 0, 100),
        bedrooms=_number(state.get("bedrooms", ""), 0, 50),
        source=text["source"],
        language=text["language"],
        location=text["location"],
        tag=text["tag"],
        created_after=_day_start(state.get("created_from", ""), zone),
        created_before=_day_start(state.get("created_to", ""), zone, after=True),
        updated_after=_day_start(state.get("updated_from", ""), zone),
        updated_before=_day_start(state.get("updated_to", ""), zone, after=True),
        last_interaction_after=_day_start(state.get("touched_from", ""), zone),
        last_interaction_before=_day_start(state.get("touched_to", ""), zone, after=True),
        has_phone=YES_NO.get(state.get("has_phone", "")),
        has_email=YES_NO.get(state.get("has_email", "")),
        has_overdue_task=state.get("overdue") == "1",
        no_next_step=state.get("no_next_step") == "1",
        q=state.get("q") or None,
        status=service.parse_statuses(state.get("status")),
        temperature=state["temperature"] if state.get("temperature") in CHOICES["temperature"] else None,
        property_type=state["property_type"] if state.get("property_type") in CHOICES["property_type"] else None,
        agent_id=int(agent) if agent.isdigit() and len(agent) < 19 else None,
        unassigned=agent == "none",
        campaign_id=int(campaign) if (campaign := state.get("campaign", "")).isdigit() and len(campaign) < 16 else None,
        deleted=state.get("deleted") == "1",  # admins only: the service refuses the others
    )


def _bulk_message(action: str, changed: int, skipped: int, agent_name: str | None) -> str:
    """What a bulk change over matching leads did, in words."""
    leads = f"{changed:,} lead{'s' if changed != 1 else ''}"
    if action == "delete":
        done = f"Deleted {leads}. An admin can restore them."
    else:
        done = f"Assigned {leads} to {agent_name}." if agent_name else f"Unassigned {leads}."
    left = f" {skipped:,} left as they were (already so, or not yours to change)." if skipped else ""
    return done + left


def _page_numbers(offset: int, limit: int, total: int) -> list[int | None]:
    """Page numbers to link (1-based), with None for a gap: the first, the last, and two either side of the current."""
    count = max(1, -(-total // limit))
    current = offset // limit + 1
    wanted = sorted({1, count, *range(max(1, current - 2), min(count, current + 2) + 1)})
    numbers: list[int | None] = []
    for n in wanted:
        if numbers and numbers[-1] is not None and n - numbers[-1] > 1:  # type: ignore[operator]
            numbers.append(None)
        numbers.append(n)
    return numbers


def _lead_form(form: dict[str, str]) -> dict[str, Any]:
    """Form strings → schema input: empty optional fields are left out (unchanged or unset)."""
    return {k: v.strip() for k, v in clean_form(form).items() if v.strip() != ""}


async def _team(tenant: TenantScope) -> list[Any]:
    return await accounts.team_members(tenant)


def _owners(team: list[Any]) -> list[Any]:
    """Who a lead can be assigned to (the pickers list only them)."""
    return [u for u in team if policy.can_own(u.role)]


class LeadPagesController(Controller):
    """Leads screens."""

    path = "/leads"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        settings: Settings,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        status: str | None = None,
        temperature: str | None = None,
        property_type: str | None = None,
        agent: Annotated[str | None, Parameter(description="user id, 'none' or 'any'")] = None,
        campaign: Annotated[str | None, Parameter(max_length=16, description="campaign id")] = None,
        deleted: Annotated[str | None, Parameter(max_length=1, description="1: the deleted leads (admins), to restore")] = None,
        sort: str = "-created_at",
        offset: Annotated[int, Parameter(ge=0)] = 0,
        cols: Annotated[list[str] | None, Parameter(description="columns to show")] = None,
        per: Annotated[str | None, Parameter(max_length=3)] = None,
    ) -> Template:
        """Active search, filters, sortable columns, chosen columns, page size and pagination, all kept in the URL. An
        agent's list starts on their own leads ("My leads"); `agent=any` shows everyone's."""
        if agent is None and policy.lists_own_first(tenant):
            agent = str(tenant.user_id)
        basic = {"q": q, "status": status, "temperature": temperature, "property_type": property_type, "agent": agent}
        more = {k: request.query_params.get(k) for k in MORE_FILTERS}
        state = _screen_state(**basic, campaign=campaign, deleted=deleted, **more)
        return await self._list(request, tenant, settings, state, sort, offset, layout=_layout(cols, per))

    async def _list(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        settings: Settings,
        state: dict[str, str],
        sort: str,
        offset: int,
        message: str | None = None,
        layout: dict[str, str] | None = None,
    ) -> Template:
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        layout = layout or _layout(None, None)
        size = int(layout["per"] or PAGE_SIZE)
        listed = ListQuery(limit=size, offset=offset, sort=sort or None)
        page = await service.list_leads(tenant, _filters(state, _zone(request)), listed, settings.base_url)
        activity = await service.activity_of(tenant, [lead.id for lead in page.data])
        shown = {**state, **layout, "sort": sort}
        query = urlencode({k: v for k, v in shown.items() if v and not (k == "sort" and v == "-created_at")})
        filters_query = urlencode({k: v for k, v in state.items() if v})
        layout_query = urlencode({k: v for k, v in layout.items() if v})
        team = await _team(tenant)
        campaigns = await service.campaign_choices(tenant)
        view = "&".join(filter(None, (query, f"offset={offset}" if offset else "")))
        pushed = f"{request.url.path}?{view}" if view else str(request.url.path)
        return render(
            request,
            "leads/index.html",
            {
                "active": "leads",
                "page": page,
                "state": state,
                "sort": sort,
                "query": query,
                "filters_query": filters_query,
                "layout_query": layout_query,
                "layout": layout,
                "columns": _columns(layout),
                "column_names": COLUMNS,
                "page_sizes": PAGE_SIZES,
                "activity": activity,
                "pages": _page_numbers(page.offset, page.limit, page.total),
                "saved_views": await saved_views.views_of(tenant, "leads"),
                "view_query": saved_views.clean_query(query),
                "view_screen": "leads",
                "view_errors": {},
                "view_name": "",
                "chips": _chips(state, layout, sort, team, campaigns),
                "more_in_use": sum(1 for k in (*MORE_FILTERS, "campaign") if state.get(k)),
                "campaigns": campaigns,
                "team": team,
                "owners": _owners(team),
                "choices": CHOICES,
                "message": message,
                "background_from": export.BACKGROUND_FROM,
                "live_after": live_after,
                "self_url": request.url.path + ("?" + request.url.query if request.method == "GET" and request.url.query else ""),
            },
            block="results" if targets(request, "lead-results") else "content",
            # A live refresh (the region asking for itself) redraws in place; it is not a new step in the history.
            # The pushed URL holds the whole view (filters, sort and page), so Back, reload and a shared link show it.
            push_url=None if request.method == "POST" or request.headers.get("hx-trigger") == "lead-results" else pushed,
        )

    @post("/bulk", status_code=200)
    async def bulk(
        self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, queue: Queue
    ) -> Template | Redirect | ClientRedirect:
        """Assign or delete the ticked leads (all or nothing), or with `all_matching` every lead the list's filters match
        (a job with a progress page beyond bulk.BACKGROUND_FROM leads), then show the list again."""
        form = await request.form()
        ids = [int(v) for v in form.getall("ids", []) if str(v).isdigit()]
        action = str(form.get("action") or "")
        state = _state_of(form)
        sort = str(form.get("sort") or "-created_at")
        agent = str(form.get("bulk_agent") or "")
        agent_id = int(agent) if agent.isdigit() and len(agent) < 19 else None
        name = next((u.full_name for u in await _team(tenant) if u.id == agent_id), None)
        if form.get("all_matching") == "1":
            outcome = await bulk.bulk_matching(tenant, _filters(state, _zone(request)), action, agent_id, queue)
            if outcome.operation is not None:
                where = f"/leads/bulk/{outcome.operation.id}"
                return ClientRedirect(redirect_to=where) if is_fragment(request) else Redirect(path=where, status_code=303)
            message = _bulk_message(action, outcome.changed, outcome.skipped, name)
            return await self._list(request, tenant, settings, state, sort, 0, message=message)
        if not ids:
            return await self._list(request, tenant, settings, state, sort, 0, message="Select at least one lead first.")
        if action == "assign":
            done = await service.bulk_assign(tenant, ids, agent_id)
            leads = f"{done} lead{'s' if done != 1 else ''}"
            already = len(set(ids)) - done
            message = (f"Assigned {leads} to {name}." if name else f"Unassigned {leads}.") + (
                f" {already} already were." if already and done else ""
            )
            if not done:
                message = "Nothing changed: the selected leads already were " + (f"assigned to {name}." if name else "unassigned.")
        elif action == "delete":
            done = await service.bulk_delete(tenant, ids)
            message = f"Deleted {done} lead{'s' if done != 1 else ''}. An admin can restore them."
        else:
            raise ValidationFailed("Choose an action", details={"field": "action", "expected": "assign or delete"})
        return await self._list(request, tenant, settings, state, sort, 0, message=message)

    @get("/bulk/{operation_id:int}")
    async def bulk_operation(self, request: Request[Any, Any, Any], tenant: TenantScope, operation_id: int, queue: Queue) -> Template:
        """A large bulk change's progress bar, pushed (SSE task_progress / task_completed) until it is done."""
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        operation = await bulk.get_operation(tenant, operation_id, queue)
        names = {u.id: u.full_name for u in await _team(tenant)}
        ctx = {
            "active": "leads",
            "operation": operation,
            "agent_name": names.get(operation.agent_id) if operation.agent_id else None,
            "summary": _bulk_message(operation.action, operation.changed, operation.skipped, names.get(operation.agent_id or 0)),
            "live_after": live_after,
        }
        return render(request, "leads/bulk_job.html", ctx, block="progress" if targets(request, "bulk-progress") else "content")

    @post("/{lead_id:int}/restore", guards=[guard(policy.RESTORE)])
    async def restore(self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, lead_id: LeadId) -> Template:
        """Bring a deleted lead back, from the deleted leads' list (a phone or e-mail taken meanwhile: 409, said inline)."""
        form = await request.form()
        state = _state_of(form)
        lead = await service.restore_lead(tenant, lead_id, settings.base_url)
        sort = str(form.get("sort") or "-created_at")
        return await self._list(request, tenant, settings, state, sort, 0, message=f"Restored {lead.name}: it is back in the leads list.")

    @post("/export-jobs", guards=[guard(policy.EXPORT)])
    async def start_export_job(self, request: Request[Any, Any, Any], tenant: TenantScope, queue: Queue) -> Redirect:
        """A large Excel export of the current view, built in the background."""
        form = await request.form()
        job = await export.start_export_job(
            tenant,
            _filters(_state_of(form), _zone(request)),
            export.pick_columns(None, "xlsx"),
            queue,
        )
        return Redirect(path=f"/leads/exports/{job.id}", status_code=303)

    @get("/exports/{export_id:int}", guards=[guard(policy.EXPORT)])
    async def export_job(self, request: Request[Any, Any, Any], tenant: TenantScope, export_id: int, queue: Queue) -> Template:
        """The export's progress bar, pushed (SSE task_progress / task_completed) until the file is ready."""
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        job = await export.get_export_job(tenant, export_id, queue)
        block = "progress" if targets(request, "export-progress") else "content"
        ctx = {"active": "leads", "job": job, "live_after": live_after}
        return render(request, "leads/export_job.html", ctx, block=block)

    @get("/exports/{export_id:int}/file", guards=[guard(policy.EXPORT)])
    async def export_job_file(self, request: Request[Any, Any, Any], tenant: TenantScope, export_id: int, queue: Queue) -> Response[bytes]:
        """The finished workbook."""
        name, content = await export.export_file(tenant, export_id, queue)
        return Response(content, media_type=export.MEDIA_TYPES["xlsx"], headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @get("/export", guards=[guard(policy.EXPORT)])
    async def export_view(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        format: Literal["csv", "xlsx"] = "csv",
        ids: list[int] | None = None,
    ) -> Stream:
        """Download the current view (or the selected leads) as CSV or Excel, like the API's export."""
        state = _state_of(request.query_params)  # the whole view, as its "Export view" link carries it
        filters = _filters(state, _zone(request))
        if ids:
            filters = replace(filters, ids=tuple(ids))
        columns = export.pick_columns(None, format)
        body = await export.export_leads(tenant, format, filters, columns)
        headers = {"Content-Disposition": f'attachment; filename="{export.filename(format)}"', "Cache-Control": "no-store"}
        return Stream(body, media_type=export.MEDIA_TYPES[format], headers=headers)

    @get("/new", guards=[guard(policy.CREATE)])
    async def new(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """The new-lead form."""
        ctx: dict[str, Any] = {"form": {}, "errors": {}}
        return render(request, "leads/new.html", {"active": "leads", **ctx, **await self._form_choices(tenant)})

    @post("/")
    async def create(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form, settings: Settings) -> Template | Redirect:
        """Create a lead; errors are shown next to their fields and nothing is created."""
        form = _lead_form(data)
        try:
            lead = await service.create_lead(tenant, convert_input(form, schemas.LeadCreate), settings.base_url)
        except DomainError as exc:
            ctx = {"active": "leads", "form": clean_form(data), "errors": form_errors(exc), **await self._form_choices(tenant)}
            return render(request, "leads/new.html", ctx, status_code=422)
        return Redirect(path=f"/leads/{lead.id}", status_code=303)

    async def _form_choices(self, tenant: TenantScope) -> dict[str, Any]:
        team = await _team(tenant)
        return {
            "choices": CHOICES,
            "team": team,
            "owners": _owners(team),
            "assignee_default": policy.default_assignee(tenant),
            "campaigns": await service.campaign_choices(tenant),
        }

    async def _detail_context(self, tenant: TenantScope, settings: Settings, lead_id: int) -> dict[str, Any]:
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        lead = await service.get_lead(tenant, lead_id, settings.base_url)
        result = score_lead(msgspec.to_builtins(lead, builtin_types=(Decimal,)) | {"last_interaction": lead.last_interaction})
        return {
            "active": "leads",
            "lead": lead,
            "score": result,
            "timeline": await service.timeline(tenant, lead_id, ListQuery(limit=50)),
            "team": (team := await _team(tenant)),
            "owners": _owners(team),
            "choices": CHOICES,
            "campaigns": await service.campaign_choices(tenant),
            "editable": EDITABLE,
            "errors": {},
            "form": {},
            "live_after": live_after,
            # The edit form carries the version it was opened on: a save over someone else's change is refused.
            "version": etag_of_resource(lead),
        }

    @get("/{lead_id:int}")
    async def detail(self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, lead_id: int) -> Template:
        """Everything about a lead, its score explained, and its timeline (the region alone for a live refresh)."""
        ctx = await self._detail_context(tenant, settings, lead_id)
        return render(request, "leads/detail.html", ctx, block="lead" if targets(request, "lead") else "content")

    @get("/{lead_id:int}/edit")
    async def edit(self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, lead_id: int) -> Template:
        """Click-to-edit: the details card as a form."""
        ctx = await self._detail_context(tenant, settings, lead_id)
        return render(request, "leads/detail.html", ctx, block="details_form" if is_fragment(request) else "content")

    @get("/{lead_id:int}/details")
    async def details(self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, lead_id: int) -> Template:
        """The details card (cancel of click-to-edit)."""
        return render(request, "leads/detail.html", await self._detail_context(tenant, settings, lead_id), block="details")

    async def _save(self, tenant: TenantScope, settings: Settings, lead_id: int, data: dict[str, str]) -> tuple[dict[str, Any], bool]:
        """Apply a details/status/assignment/note change; returns (detail context with any errors, details form?)."""
        raw = clean_form(data)
        details_form = data.get("_form") == "details"
        form = _lead_form(data)
        # Cleared fields of the details form become null (unset), unlike a partial status/assign change.
        if details_form:
            form.update({k: None for k in EDITABLE if k in raw and raw[k].strip() == "" and k not in REQUIRED_TEXT})
        if raw.get("agent_id") == "":
            form["agent_id"] = None
        errors: dict[str, str] = {}
        try:
            version = data.get("_version") if details_form else None
            await service.update_lead(tenant, lead_id, convert_input(form, schemas.LeadUpdate), settings.base_url, if_match=version)
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            errors = form_errors(exc)
        ctx = await self._detail_context(tenant, settings, lead_id)
        ctx.update(errors=errors, form=raw if errors else {})  # echo exactly what was typed
        return ctx, details_form

    @patch("/{lead_id:int}")
    async def update(self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, lead_id: int, data: Form) -> Template:
        """Save edited details, a status change, an assignment or a note; answers with the refreshed lead."""
        ctx, details_form = await self._save(tenant, settings, lead_id, data)
        if ctx["errors"] and details_form:  # only the form is redrawn, with its errors
            return render(request, "leads/detail.html", ctx, block="details_form", status_code=422, re_target="#details")
        return render(request, "leads/detail.html", ctx, block="lead", status_code=422 if ctx["errors"] else 200)

    @post("/{lead_id:int}")
    async def update_without_javascript(
        self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, lead_id: int, data: Form
    ) -> Template | Redirect:
        """The same change from a plain form post (no JavaScript): back to the lead, or the page with its errors."""
        ctx, details_form = await self._save(tenant, settings, lead_id, data)
        if not ctx["errors"]:
            return Redirect(path=f"/leads/{lead_id}", status_code=303)
        return render(request, "leads/detail.html", ctx, block="details_form" if details_form else "content", status_code=422)

    @post("/{lead_id:int}/score")
    async def rescore(self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, lead_id: int) -> Template:
        """Score now and show the explanation."""
        await service.score(tenant, lead_id)
        return render(request, "leads/detail.html", await self._detail_context(tenant, settings, lead_id), block="lead")

    @delete("/{lead_id:int}", status_code=200)
    async def remove(self, tenant: TenantScope, lead_id: int) -> ClientRedirect:
        """Soft-delete, then back to the list."""
        await service.delete_lead(tenant, lead_id)
        return ClientRedirect(redirect_to="/leads")
