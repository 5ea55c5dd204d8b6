"""Browser UI for properties: the list (filters, search, tags, bulk stage/assign/portfolio), the stage board (the
pipeline's drag-and-drop component), a property's page (details, owner, market data, matching buyers, timeline),
the portfolio screen (stats, portfolios, reconciliation) and a lead's best matches on the lead's page."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Parameter
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template

from app.accounts import service as accounts
from app.core.errors import DomainError, ValidationFailed
from app.core.pagination import ListQuery
from app.core.schemas import MONEY_PATTERN
from app.core.validation import convert_input
from app.core.versions import etag_of_resource
from app.db import TenantScope
from app.events.stream import latest_id
from app.properties import matching, policy, schemas, service
from app.web.auth import guard
from app.web.errors import status_of
from app.web.ui import Form, clean_form, form_errors, form_number, refusal_stays_on_page, render, targets

Id = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
PAGE_SIZE = 25
SCREEN_FILTERS = ("q", "stage", "agent", "tag", "neighborhood", "score_min")
SORTABLE = ("address", "current_stage", "bird_dog_score", "estimated_value", "last_contact_at", "created_at")
EDITABLE = (
    "address",
    "city",
    "state",
    "zip_code",
    "neighborhood",
    "owner_name",
    "owner_phone",
    "owner_email",
    "price",
    "estimated_value",
    "currency",
    "bedrooms",
    "bathrooms",
    "square_feet",
    "property_type",
    "listing_status",
    "listed_on",
    "bird_dog_score",
    "tags",
)
REQUIRED_TEXT = ("address", "currency", "listing_status")
CHOICES = {
    "stage": schemas.STAGES,
    "listing_status": schemas.LISTING_STATUSES,
    "property_type": schemas.PropertyType.__args__,  # type: ignore[attr-defined]
}


def _state(**values: Any) -> dict[str, str]:
    """The screen's filters as strings, as they appear in its URL and forms."""
    return {k: str(values.get(k) or "") for k in SCREEN_FILTERS}


def _filters(state: dict[str, str]) -> service.PropertyFilters:
    """The screen's filters (lenient: a value that makes no sense is ignored, not an error)."""
    score = state.get("score_min", "")
    return service.PropertyFilters(
        search=state.get("q", "").strip() or None,
        stage=(state["stage"],) if state.get("stage") in schemas.STAGES else (),
        assigned_user_id=form_number(state.get("agent", "")),
        unassigned=state.get("agent") == "none",
        tags=service.parse_tags(state.get("tag") or None),
        neighborhood=state.get("neighborhood", "").strip() or None,
        score_gte=float(score) if re.fullmatch(r"(0(\.[0-9]{1,3})?|1(\.0{1,3})?)", score) else None,
    )


def _query(state: dict[str, str], **extra: Any) -> str:
    return urlencode({k: v for k, v in {**state, **extra}.items() if v not in ("", None)})


def _property_form(form: dict[str, str], *, details: bool) -> dict[str, Any]:
    """Form strings → schema input. In the details form a cleared optional field becomes null; tags are comma-separated."""
    values: dict[str, Any] = {}
    for key, raw in clean_form(form).items():
        if key not in (*EDITABLE, "current_stage", "assigned_user_id", "notes"):
            continue
        raw = raw.strip()
        if key == "tags":
            values["tags"] = list(service.parse_tags(raw))
        elif key == "assigned_user_id":
            values[key] = None if raw in ("", "none") else raw
        elif raw == "":
            if details and key not in REQUIRED_TEXT and key not in ("city", "state", "zip_code", "neighborhood", "owner_name"):
                values[key] = None
            elif details and key in ("city", "state", "zip_code", "neighborhood", "owner_name"):
                values[key] = ""
        else:
            values[key] = raw.replace(",", "") if key in ("price", "estimated_value") and re.fullmatch(r"[0-9,]+(\.[0-9]+)?", raw) else raw
    return values


class PropertyPagesController(Controller):
    """The properties screens."""

    path = "/properties"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    # ----------------------------------------------------------------- list

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        stage: Annotated[str | None, Parameter(max_length=30)] = None,
        agent: Annotated[str | None, Parameter(max_length=20)] = None,
        tag: Annotated[str | None, Parameter(max_length=100)] = None,
        neighborhood: Annotated[str | None, Parameter(max_length=100)] = None,
        score_min: Annotated[str | None, Parameter(max_length=10)] = None,
        sort: Annotated[str, Parameter(max_length=30)] = "-created_at",
        offset: Annotated[int, Parameter(ge=0, le=1_000_000)] = 0,
    ) -> Template:
        """Search, filters, sortable columns and pages, all kept in the URL."""
        state = _state(q=q, stage=stage, agent=agent, tag=tag, neighborhood=neighborhood, score_min=score_min)
        return await self._list(request, tenant, state, sort, offset)

    async def _list(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        state: dict[str, str],
        sort: str,
        offset: int,
        message: str | None = None,
        status_code: int = 200,
    ) -> Template:
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        if sort.lstrip("-") not in SORTABLE:
            sort = "-created_at"
        page = await service.list_properties(tenant, _filters(state), ListQuery(limit=PAGE_SIZE, offset=offset, sort=sort))
        query = _query(state, sort=sort if sort != "-created_at" else "")
        filters_query = _query(state)
        view = "&".join(filter(None, (query, f"offset={offset}" if offset else "")))
        team = await accounts.team_members(tenant)
        portfolios = await service.list_portfolios(tenant) if policy.PORTFOLIO_VIEW.allows(tenant) else []
        return render(
            request,
            "properties/index.html",
            {
                "active": "properties",
                "page": page,
                "state": state,
                "sort": sort,
                "query": query,
                "filters_query": filters_query,
                "team": team,
                "owners": [u for u in team if policy.can_own(u.role)],
                "portfolios": portfolios,
                "choices": CHOICES,
                "labels": schemas.STAGE_LABELS,
                "message": message,
                "live_after": live_after,
                "self_url": "/properties" + (f"?{view}" if view else ""),
            },
            block="results" if targets(request, "property-results") else "content",
            status_code=status_code,
            push_url=None
            if request.method == "POST" or request.headers.get("hx-trigger") == "property-results"
            else ("/properties" + (f"?{view}" if view else "")),
        )

    @post("/bulk", guards=[guard(policy.EDIT)])
    async def bulk(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Move, assign or add to a portfolio the selected properties; the ones you may not change are named."""
        form = await request.form()
        ids = sorted({int(v) for v in form.getall("ids", []) if str(v).isdigit() and len(str(v)) < 19})
        state = _state(**{k: form.get(k) for k in SCREEN_FILTERS})
        sort = str(form.get("sort") or "-created_at")
        action = str(form.get("action") or "")
        if not ids:
            return await self._list(request, tenant, state, sort, 0, message="Select at least one property first.", status_code=422)
        if action == "portfolio":
            chosen = form_number(str(form.get("portfolio") or ""))
            return await self._to_portfolio(request, tenant, state, sort, ids, chosen, str(form.get("new_portfolio") or ""))
        change: dict[str, Any] = {"property_ids": ids}
        if action == "stage":
            change["current_stage"] = str(form.get("bulk_stage") or "")
        elif action == "assign":
            agent = str(form.get("bulk_agent") or "")
            change["assigned_user_id"] = form_number(agent)
        else:
            raise ValidationFailed("Choose an action", details={"field": "action", "expected": "stage, assign or portfolio"})
        try:
            result = await service.bulk_change(tenant, convert_input(change, schemas.BulkChange))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._list(request, tenant, state, sort, 0, message=exc.human or exc.message, status_code=status_of(exc))
        done = len(result.updated)
        what = (
            f"Moved {done} propert{'y' if done == 1 else 'ies'} to {schemas.STAGE_LABELS[change['current_stage']]}."
            if action == "stage"
            else f"Assigned {done} propert{'y' if done == 1 else 'ies'}."
        )
        if result.refused:
            what += f" {len(result.refused)} not changed: {next(iter(result.refused.values()))}."
        return await self._list(request, tenant, state, sort, 0, message=what)

    async def _to_portfolio(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        state: dict[str, str],
        sort: str,
        ids: list[int],
        chosen: int | None,
        new_name: str,
    ) -> Template:
        try:
            if chosen is not None:
                portfolio = await service.update_portfolio(tenant, chosen, schemas.PortfolioUpdate(add_property_ids=ids))
            else:
                name = new_name.strip()
                if not name:
                    raise ValidationFailed(
                        "Name the portfolio", details={"field": "portfolio"}, human="Choose a portfolio or name a new one"
                    )
                portfolio = await service.create_portfolio(
                    tenant, convert_input({"name": name, "property_ids": ids}, schemas.PortfolioCreate)
                )
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._list(request, tenant, state, sort, 0, message=exc.human or exc.message, status_code=status_of(exc))
        return await self._list(
            request, tenant, state, sort, 0, message=f"{portfolio.name} now holds {portfolio.properties_count} properties."
        )

    # ----------------------------------------------------------------- board

    @get("/board")
    async def board(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        agent: Annotated[str | None, Parameter(max_length=20)] = None,
        tag: Annotated[str | None, Parameter(max_length=100)] = None,
        neighborhood: Annotated[str | None, Parameter(max_length=100)] = None,
        score_min: Annotated[str | None, Parameter(max_length=10)] = None,
    ) -> Template:
        """The stages as columns; a card is dragged (or moved with Alt + arrows) to another stage."""
        state = _state(q=q, agent=agent, tag=tag, neighborhood=neighborhood, score_min=score_min)
        return await self._board(request, tenant, state, block="board" if targets(request, "board") else "content")

    async def _board(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        state: dict[str, str],
        *,
        message: str = "",
        refusal: dict[str, Any] | None = None,
        block: str = "content",
        status_code: int = 200,
    ) -> Template:
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        state = {**state, "stage": ""}
        columns = await service.board(tenant, _filters(state))
        team = await accounts.team_members(tenant)
        query = _query(state)
        ctx = {
            "active": "properties",
            "columns": columns,
            "state": state,
            "query": query,
            "self_url": "/properties/board" + (f"?{query}" if query else ""),
            "team": team,
            "live_after": live_after,
            "message": message,
            "refusal": refusal,
        }
        return render(request, "properties/board.html", ctx, block=block, status_code=status_code)

    @get("/board/{stage:str}/cards")
    async def more_cards(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        stage: str,
        after: Annotated[int, Parameter(ge=0, le=10**6)] = 0,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        agent: Annotated[str | None, Parameter(max_length=20)] = None,
        tag: Annotated[str | None, Parameter(max_length=100)] = None,
        neighborhood: Annotated[str | None, Parameter(max_length=100)] = None,
        score_min: Annotated[str | None, Parameter(max_length=10)] = None,
    ) -> Template:
        """The next cards of a column, as it scrolls."""
        if stage not in schemas.STAGES:
            raise ValidationFailed("Unknown stage", details={"field": "stage", "provided": stage})
        state = _state(q=q, agent=agent, tag=tag, neighborhood=neighborhood, score_min=score_min)
        cards, more = await service.column(tenant, stage, _filters(state), after=after)
        ctx = {"cards": cards, "more": more, "stage": stage, "shown": after + len(cards), "query": _query(state)}
        return render(request, "properties/board.html", ctx, block="cards")

    @post("/{property_id:int}/move", guards=[guard(policy.EDIT)])
    async def move(self, request: Request[Any, Any, Any], tenant: TenantScope, property_id: Id, data: Form) -> Template:
        """A card dropped on another stage: the board as the server now has it; a refusal keeps it where it was, with why."""
        state = _state(**{k: data.get(k) for k in SCREEN_FILTERS})
        stage = data.get("stage_id", "")
        try:
            moved = await service.update_property(tenant, property_id, convert_input({"current_stage": stage}, schemas.PropertyUpdate))
        except DomainError as exc:
            refusal = {"property_id": property_id, "human": exc.human or exc.message, "code": exc.code}
            return await self._board(request, tenant, state, refusal=refusal, block="board", status_code=status_of(exc))
        said = f"Moved “{moved.address}” to {schemas.STAGE_LABELS[moved.current_stage]}."
        return await self._board(request, tenant, state, message=said, block="board")

    # ----------------------------------------------------------------- one property

    @get("/new", guards=[guard(policy.CREATE)])
    async def new(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """The form for a new property."""
        return await self._new(request, tenant, {}, {})

    async def _new(self, request: Request[Any, Any, Any], tenant: TenantScope, form: dict[str, str], errors: dict[str, str]) -> Template:
        team = await accounts.team_members(tenant)
        ctx = {
            "active": "properties",
            "form": form,
            "errors": errors,
            "choices": CHOICES,
            "labels": schemas.STAGE_LABELS,
            "owners": [u for u in team if policy.can_own(u.role) and policy.ASSIGN.allows(tenant, u.id)],
            "assignee_default": policy.default_assignee(tenant),
        }
        return render(request, "properties/new.html", ctx, status_code=422 if errors else 200)

    @post("/", guards=[guard(policy.CREATE)])
    async def create(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Add the property; refusals next to their fields, nothing added."""
        values = {k: v for k, v in _property_form(data, details=False).items() if v is not None}
        try:
            prop = await service.create_property(tenant, convert_input(values, schemas.PropertyCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._new(request, tenant, clean_form(data), form_errors(exc))
        return Redirect(path=f"/properties/{prop.id}", status_code=303)

    async def _detail_context(self, tenant: TenantScope, property_id: int) -> dict[str, Any]:
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        prop = await service.get_property(tenant, property_id)
        team = await accounts.team_members(tenant)
        return {
            "active": "properties",
            "prop": prop,
            "timeline": await service.timeline(tenant, property_id, limit=100),
            "owners": [u for u in team if policy.can_own(u.role)],
            "choices": CHOICES,
            "labels": schemas.STAGE_LABELS,
            "editable": EDITABLE,
            "errors": {},
            "form": {},
            "live_after": live_after,
            "version": etag_of_resource(prop),
        }

    @get("/{property_id:int}")
    async def detail(self, request: Request[Any, Any, Any], tenant: TenantScope, property_id: Id) -> Template:
        """Everything about a property (the region alone for a live refresh)."""
        ctx = await self._detail_context(tenant, property_id)
        return render(request, "properties/detail.html", ctx, block="property" if targets(request, "property") else "content")

    @get("/{property_id:int}/edit", guards=[guard(policy.EDIT)])
    async def edit(self, request: Request[Any, Any, Any], tenant: TenantScope, property_id: Id) -> Template:
        """Click-to-edit: the details card as a form."""
        ctx = await self._detail_context(tenant, property_id)
        return render(request, "properties/detail.html", ctx, block="details_form" if targets(request, "details") else "content")

    @get("/{property_id:int}/details")
    async def details(self, request: Request[Any, Any, Any], tenant: TenantScope, property_id: Id) -> Template:
        """The details card (cancel of click-to-edit)."""
        return render(request, "properties/detail.html", await self._detail_context(tenant, property_id), block="details")

    async def _save(self, tenant: TenantScope, property_id: int, data: dict[str, str]) -> tuple[dict[str, Any], bool]:
        details = data.get("_form") == "details"
        values = _property_form(data, details=details)
        errors: dict[str, str] = {}
        try:
            version = data.get("_version") if details else None
            await service.update_property(tenant, property_id, convert_input(values, schemas.PropertyUpdate), if_match=version)
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            errors = form_errors(exc)
        ctx = await self._detail_context(tenant, property_id)
        ctx.update(errors=errors, form=clean_form(data) if errors else {})
        return ctx, details

    @patch("/{property_id:int}", guards=[guard(policy.EDIT)])
    async def update(self, request: Request[Any, Any, Any], tenant: TenantScope, property_id: Id, data: Form) -> Template:
        """Save edited details, a stage, an assignment or notes; answers with the refreshed property."""
        ctx, details = await self._save(tenant, property_id, data)
        if ctx["errors"] and details:
            return render(request, "properties/detail.html", ctx, block="details_form", status_code=422, re_target="#details")
        return render(request, "properties/detail.html", ctx, block="property", status_code=422 if ctx["errors"] else 200)

    @post("/{property_id:int}", guards=[guard(policy.EDIT)])
    async def update_without_javascript(
        self, request: Request[Any, Any, Any], tenant: TenantScope, property_id: Id, data: Form
    ) -> Template | Redirect:
        """The same change from a plain form post: back to the property, or the page with its errors."""
        ctx, details = await self._save(tenant, property_id, data)
        if not ctx["errors"]:
            return Redirect(path=f"/properties/{property_id}", status_code=303)
        return render(request, "properties/detail.html", ctx, block="details_form" if details else "content", status_code=422)

    @delete("/{property_id:int}", guards=[guard(policy.DELETE)], status_code=200)
    async def remove(self, tenant: TenantScope, property_id: Id) -> ClientRedirect:
        """Delete, then back to the list."""
        await service.delete_property(tenant, property_id)
        return ClientRedirect(redirect_to="/properties")

    @get("/{property_id:int}/buyers")
    async def buyers(self, request: Request[Any, Any, Any], tenant: TenantScope, property_id: Id) -> Template:
        """The leads this property suits best (the property page's Matching buyers card)."""
        prop = await service.get_property(tenant, property_id)
        leads = await matching.buyers_for(tenant, property_id)
        return render(request, "properties/detail.html", {"prop": prop, "buyers": leads}, block="buyers")

    # ----------------------------------------------------------------- portfolio

    @get("/portfolio")
    async def portfolio(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """The pipeline in numbers and, for those who manage them, the portfolios and their reconciliation."""
        return await self._portfolio(request, tenant)

    async def _portfolio(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        *,
        result: schemas.Reconciliation | None = None,
        form: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        ctx = {
            "active": "properties",
            "stats": await service.stats(tenant, None, None),
            "labels": schemas.STAGE_LABELS,
            "portfolios": await service.list_portfolios(tenant) if policy.PORTFOLIO_VIEW.allows(tenant) else [],
            "result": result,
            "form": form or {},
            "errors": errors or {},
        }
        block = "portfolios" if targets(request, "portfolios") else "content"
        return render(request, "properties/portfolio.html", ctx, block=block, status_code=status_code)

    @post("/portfolio/{portfolio_id:int}/reconcile", guards=[guard(policy.PORTFOLIO_MANAGE)])
    async def reconcile(self, request: Request[Any, Any, Any], tenant: TenantScope, portfolio_id: Id) -> Template:
        """Reconcile now and show the result."""
        result = await service.reconcile(tenant, portfolio_id)
        return await self._portfolio(request, tenant, result=result)

    @post("/portfolio", guards=[guard(policy.PORTFOLIO_MANAGE)])
    async def update_portfolio(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template:
        """Change a portfolio's expected total or threshold (blank expected total: the sum of its recorded values)."""
        portfolio_id = form_number(data.get("portfolio_id", ""))
        values: dict[str, Any] = {}
        raw_expected = data.get("expected_value", "").replace(",", "").strip()
        values["expected_value"] = raw_expected or None
        if data.get("threshold", "").strip():
            values["threshold"] = data["threshold"].strip()
        try:
            if portfolio_id is None:
                raise ValidationFailed("Choose a portfolio", details={"field": "portfolio_id"})
            if raw_expected and not re.fullmatch(MONEY_PATTERN, raw_expected):
                raise ValidationFailed("Invalid expected_value", details={"field": "expected_value"}, human="Enter an amount, like 1250000")
            values = {k: (Decimal(v) if k == "expected_value" and v is not None else v) for k, v in values.items()}
            await service.update_portfolio(tenant, portfolio_id, convert_input(values, schemas.PortfolioUpdate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            errors = {f"{portfolio_id}.{k}": v for k, v in form_errors(exc).items()}
            return await self._portfolio(request, tenant, form=clean_form(data), errors=errors, status_code=422)
        return await self._portfolio(request, tenant)


class LeadMatchesController(Controller):
    """A lead's best matching properties (its page's card)."""

    path = "/leads"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    @get("/{lead_id:int}/matches")
    async def matches(self, request: Request[Any, Any, Any], tenant: TenantScope, lead_id: Id) -> Template:
        """The properties that fit the lead's budget, bedrooms and locations best, with why, and a viewing a click away."""
        wishes, total, found = await matching.lead_matches(tenant, lead_id)
        ctx = {"lead_id": lead_id, "wishes": wishes, "total": total, "matches": found}
        return render(request, "properties/matches.html", ctx, block="matches")
