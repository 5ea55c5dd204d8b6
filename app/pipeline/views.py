"""Browser UI for the pipeline: the kanban board (drag and drop, keyboard moves, live), a deal's side panel, new deals."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from app.accounts import service as accounts
from app.core.errors import Conflict, DomainError, ValidationFailed
from app.core.pagination import ListQuery
from app.core.schemas import MONEY_PATTERN
from app.core.validation import convert_input
from app.db import TenantScope
from app.events.stream import latest_id
from app.pipeline import policy, schemas, service
from app.web.auth import guard
from app.web.errors import status_of
from app.web.ui import Form, clean_form, form_errors, form_number, refusal_stays_on_page, render

Id = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
BOARD_FILTERS = ("pipeline", "owner", "q", "value_min", "value_max")
EDITABLE = ("title", "value", "currency", "owner_id", "expected_close_date", "probability", "notes")


def _state(**values: Any) -> dict[str, str]:
    """The board's filters as strings, as in its URL and forms."""
    return {k: str(values.get(k) or "") for k in BOARD_FILTERS}


def _amount(raw: str) -> Decimal | None:
    """A filter's amount, or None for anything that is not one (the board's filters are lenient)."""
    cleaned = raw.replace(",", "").strip()
    return Decimal(cleaned) if re.fullmatch(MONEY_PATTERN, cleaned) else None


def _filters(state: dict[str, str]) -> service.DealFilters:
    """The board's filters (lenient: a value that makes no sense is ignored, not an error)."""
    return service.DealFilters(
        owner_id=form_number(state["owner"]),
        q=state["q"].strip() or None,
        value_min=_amount(state["value_min"]),
        value_max=_amount(state["value_max"]),
    )


def _query(state: dict[str, str], **extra: Any) -> str:
    return urlencode({k: v for k, v in {**state, **extra}.items() if v not in ("", None)})


def _deal_form(form: dict[str, str]) -> dict[str, Any]:
    """Form strings → schema input: empty optional fields are cleared (owner, date, probability) or left out."""
    values: dict[str, Any] = {}
    for key, raw in clean_form(form).items():
        if key not in EDITABLE:
            continue
        raw = raw.strip()
        if key in ("owner_id", "expected_close_date", "probability") and raw == "":
            values[key] = None
        elif raw != "" or key == "notes":
            values[key] = raw
    return values


class PipelinePagesController(Controller):
    """The board and its deals."""

    path = "/pipeline"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    async def _board(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        state: dict[str, str],
        *,
        deal_id: int | None = None,
        message: str = "",
        refusal: dict[str, Any] | None = None,
        block: str = "content",
        status_code: int = 200,
    ) -> Template:
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        pipelines = await service.list_pipelines(tenant)
        chosen = form_number(state["pipeline"])
        pipeline_id = chosen if chosen in {p.id for p in pipelines} else None
        board = await service.board(tenant, pipeline_id, _filters(state))
        team = await accounts.team_members(tenant)
        query = _query(state)
        ctx = {
            "active": "pipeline",
            "board": board,
            "pipelines": pipelines,
            "state": state,
            "query": query,
            "self_url": "/pipeline" + (f"?{query}" if query else ""),
            "owners": [u for u in team if policy.can_own(u.role)],
            "live_after": live_after,
            "message": message,
            "refusal": refusal,
            "panel": await self._panel_context(tenant, deal_id) if deal_id else None,
        }
        return render(request, "pipeline/board.html", ctx, block=block, status_code=status_code)

    async def _panel_context(self, tenant: TenantScope, deal_id: int, **extra: Any) -> dict[str, Any]:
        deal = await service.get_deal(tenant, deal_id)
        team = await accounts.team_members(tenant)
        pipeline = await service.get_pipeline(tenant, deal.pipeline_id)
        return {
            "deal": deal,
            "stages": pipeline.stages,
            "owners": [u for u in team if policy.can_own(u.role)],
            "names": {u.id: u.full_name for u in team},
            "timeline": await service.deal_timeline(tenant, deal_id, ListQuery(limit=20)),
            "form": {},
            "errors": {},
            **extra,
        }

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        pipeline: Annotated[str | None, Parameter(max_length=20)] = None,
        owner: Annotated[str | None, Parameter(max_length=20)] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        value_min: Annotated[str | None, Parameter(max_length=20)] = None,
        value_max: Annotated[str | None, Parameter(max_length=20)] = None,
        deal: Annotated[str | None, Parameter(max_length=20)] = None,
    ) -> Template:
        """The board: columns by stage, filters in the URL, `?deal=ID` opens a deal's panel beside it."""
        state = _state(pipeline=pipeline, owner=owner, q=q, value_min=value_min, value_max=value_max)
        hx_target = getattr(getattr(request, "htmx", None), "target", None)
        block = "board" if hx_target == "board" else "content"
        return await self._board(request, tenant, state, deal_id=form_number(deal or ""), block=block)

    @get("/stages/{stage_id:int}/cards")
    async def more_cards(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        stage_id: Id,
        after: Annotated[int, Parameter(ge=0, le=10**6, description="cards the column shows already")] = 0,
        owner: Annotated[str | None, Parameter(max_length=20)] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        value_min: Annotated[str | None, Parameter(max_length=20)] = None,
        value_max: Annotated[str | None, Parameter(max_length=20)] = None,
    ) -> Template:
        """The next cards of a column, as it scrolls."""
        state = _state(owner=owner, q=q, value_min=value_min, value_max=value_max)
        cards, more = await service.column(tenant, stage_id, _filters(state), after=after)
        ctx = {
            "cards": cards,
            "more": more,
            "stage_id": stage_id,
            "shown": after + len(cards),
            "query": _query(state),
            "stale_after_days": service.STALE_AFTER_DAYS,
        }
        return render(request, "pipeline/board.html", ctx, block="cards")

    @post("/deals/{deal_id:int}/move", guards=[guard(policy.EDIT)])
    async def move(self, request: Request[Any, Any, Any], tenant: TenantScope, deal_id: Id, data: Form) -> Template:
        """A card dropped (or moved by keyboard): the board as the server now has it. A refused move answers 409 with
        the board unchanged and the reason above it (a manager is offered to go past a WIP limit)."""
        state = _state(**{k: data.get(k) for k in BOARD_FILTERS})
        stage_id, position = form_number(data.get("stage_id", "")), form_number(data.get("position", "")) or 1
        try:
            if stage_id is None:
                raise ValidationFailed("Choose a stage", details={"field": "stage_id"})
            move = schemas.DealMove(stage_id=stage_id, position=min(position, 1_000_000), override=data.get("override") == "1")
            moved = await service.move_deal(tenant, deal_id, move)
        except DomainError as exc:
            # Whatever refused it (a full stage, a deal someone else owns or deleted meanwhile), the answer is the board
            # as it is, so the card goes back where it was, with the reason above it.
            refusal = {"deal_id": deal_id, "stage_id": stage_id, "position": position, "human": exc.human, "code": exc.code}
            return await self._board(request, tenant, state, message="", refusal=refusal, block="board", status_code=status_of(exc))
        return await self._board(request, tenant, state, message=f"Moved “{moved.title}” to {moved.stage_name}.", block="board")

    @get("/deals/{deal_id:int}")
    async def panel(self, request: Request[Any, Any, Any], tenant: TenantScope, deal_id: Id) -> Template | Redirect:
        """A deal's panel (its own page without htmx: the board with the panel open)."""
        if not getattr(request, "htmx", None):
            return Redirect(path=f"/pipeline?deal={deal_id}", status_code=303)
        return render(request, "pipeline/board.html", {"panel": await self._panel_context(tenant, deal_id)}, block="panel")

    @post("/deals/{deal_id:int}", guards=[guard(policy.EDIT)])
    async def edit(self, request: Request[Any, Any, Any], tenant: TenantScope, deal_id: Id, data: Form) -> Template:
        """Save the panel's form; refusals are shown next to their fields and nothing changes."""
        try:
            await service.update_deal(tenant, deal_id, convert_input(_deal_form(data), schemas.DealUpdate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            ctx = await self._panel_context(tenant, deal_id, form=clean_form(data), errors=form_errors(exc), editing=True)
            return render(request, "pipeline/board.html", {"panel": ctx}, block="panel", status_code=422)
        ctx = await self._panel_context(tenant, deal_id, saved="Saved.")
        return render(request, "pipeline/board.html", {"panel": ctx}, block="panel", trigger_event="deal-saved")

    @post("/deals/{deal_id:int}/status", guards=[guard(policy.EDIT)])
    async def status(self, request: Request[Any, Any, Any], tenant: TenantScope, deal_id: Id, data: Form) -> Template:
        """Won, lost (with a reason) or reopened."""
        values: dict[str, Any] = {"status": data.get("status", "")}
        if values["status"] == "lost":
            values["lost_reason"] = data.get("lost_reason", "").strip() or None
        try:
            await service.update_deal(tenant, deal_id, convert_input(values, schemas.DealUpdate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            ctx = await self._panel_context(tenant, deal_id, form=clean_form(data), errors=form_errors(exc), closing=True)
            return render(request, "pipeline/board.html", {"panel": ctx}, block="panel", status_code=422)
        said = {"won": "Won!", "lost": "Marked lost.", "open": "Reopened."}.get(values["status"], "")
        ctx = await self._panel_context(tenant, deal_id, saved=said)
        return render(request, "pipeline/board.html", {"panel": ctx}, block="panel", trigger_event="deal-saved")

    @post("/deals/{deal_id:int}/watch")
    async def watch(self, request: Request[Any, Any, Any], tenant: TenantScope, deal_id: Id, data: Form) -> Template:
        """Start or stop watching the deal yourself."""
        assert tenant.user_id is not None
        if data.get("watch") == "0":
            await service.remove_watcher(tenant, deal_id, tenant.user_id)
        else:
            await service.add_watcher(tenant, deal_id, tenant.user_id)
        return render(request, "pipeline/board.html", {"panel": await self._panel_context(tenant, deal_id)}, block="panel")

    @get("/deals/new", guards=[guard(policy.CREATE)])
    async def new_deal(
        self, request: Request[Any, Any, Any], tenant: TenantScope, stage: Annotated[str | None, Parameter(max_length=20)] = None
    ) -> Template:
        """The form for a new deal (in a stage when one is named)."""
        return await self._new(request, tenant, {"stage_id": stage or ""}, {})

    async def _new(self, request: Request[Any, Any, Any], tenant: TenantScope, form: dict[str, str], errors: dict[str, str]) -> Template:
        pipelines = await service.list_pipelines(tenant)
        team = await accounts.team_members(tenant)
        ctx = {
            "active": "pipeline",
            "pipelines": pipelines,
            "owners": [u for u in team if policy.can_own(u.role)],
            "form": form,
            "errors": errors,
            "blank_owner": "Me" if policy.default_owner(tenant) else "Nobody",
        }
        return render(request, "pipeline/new.html", ctx, status_code=422 if errors else 200)

    @post("/deals/new", guards=[guard(policy.CREATE)])
    async def create(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Create the deal and show it on the board; refusals next to their fields."""
        form = clean_form(data)
        values = {k: v.strip() for k, v in form.items() if v.strip() and k in (*EDITABLE, "stage_id")}
        try:
            deal = await service.create_deal(tenant, convert_input(values, schemas.DealCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._new(request, tenant, form, form_errors(exc))
        return Redirect(path=f"/pipeline?pipeline={deal.pipeline_id}&deal={deal.id}", status_code=303)

    @post("/convert/{lead_id:int}", guards=[guard(policy.CREATE)])
    async def convert(self, tenant: TenantScope, lead_id: Id) -> Redirect:
        """Convert a lead (its page's button) and open the new deal on the board; a lead with an open deal opens that one."""
        try:
            deal = await service.convert_lead(tenant, lead_id, schemas.ConvertLead())
        except Conflict as exc:
            existing = exc.details.get("existing_deal_id")
            if existing is None:
                raise
            return Redirect(path=f"/pipeline?deal={existing}", status_code=303)
        return Redirect(path=f"/pipeline?pipeline={deal.pipeline_id}&deal={deal.id}", status_code=303)
