"""Browser UI of the call center: the call log (filters in the URL, live new calls), the "log a call" form (from the
log, or from a lead, contact or ticket: `?lead_id=`…), and call analytics with a server-made SVG chart."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from app.accounts import service as accounts
from app.calls import analytics, policy, schemas, service
from app.core.errors import DomainError, ValidationFailed
from app.core.pagination import ListQuery
from app.core.validation import convert_input
from app.db import TenantScope
from app.events.stream import latest_id
from app.web.auth import guard
from app.web.context import principal_of
from app.web.deps import parse_instant
from app.web.ui import Form, clean_form, form_errors, refusal_stays_on_page, render, targets

PAGE_SIZE = 25
LINKS = ("lead_id", "contact_id", "ticket_id")


def _zone(request: Request[Any, Any, Any]) -> ZoneInfo:
    principal = principal_of(request.scope)  # type: ignore[arg-type]
    try:
        return ZoneInfo(principal.time_zone if principal else "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 19 else None


def bars(periods: list[schemas.PeriodStats], width: int = 640, height: int = 180) -> dict[str, Any]:
    """An SVG bar chart's geometry (answered and abandoned per period), drawn by the template."""
    top = max((p.calls for p in periods), default=0) or 1
    step = width / max(len(periods), 1)
    bar = max(step * 0.7, 2)
    items = []
    for n, p in enumerate(periods):
        answered_h = p.answered / top * (height - 20)
        other_h = (p.calls - p.answered) / top * (height - 20)
        x = n * step + (step - bar) / 2
        items.append(
            {"x": round(x, 1), "w": round(bar, 1), "answered_y": round(height - answered_h, 1), "answered_h": round(answered_h, 1),
             "other_y": round(height - answered_h - other_h, 1), "other_h": round(other_h, 1), "label": p.period_start, "period": p}
        )  # fmt: skip
    return {"width": width, "height": height, "items": items, "top": top}


class CallPagesController(Controller):
    """Call screens."""

    path = "/calls"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    @get("/")
    async def log(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        status: Annotated[str | None, Parameter(max_length=12)] = None,
        direction: Annotated[str | None, Parameter(max_length=10)] = None,
        agent: Annotated[str | None, Parameter(max_length=19)] = None,
        start_date: Annotated[str | None, Parameter(max_length=10)] = None,
        end_date: Annotated[str | None, Parameter(max_length=10)] = None,
        offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
    ) -> Template:
        """The call log, latest first; its filters live in the URL; new calls appear live."""
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        state = {
            "status": status if status in schemas.STATUSES else "",
            "direction": direction if direction in schemas.DIRECTIONS else "",
            "agent": agent if _id(agent) else "",
            "start_date": start_date or "",
            "end_date": end_date or "",
        }
        message = None
        try:
            start = parse_instant("start_date", state["start_date"] or None, days=True)
            end = parse_instant("end_date", state["end_date"] or None, days=True, end=True)
        except ValidationFailed:
            start = end = None
            state["start_date"] = state["end_date"] = ""
            message = "Dates are YYYY-MM-DD; the date filter was dropped."
        filters = service.CallFilters(
            status=state["status"] or None, direction=state["direction"] or None, agent_id=_id(agent), start=start, end=end
        )
        page = await service.list_calls(tenant, filters, ListQuery(limit=PAGE_SIZE, offset=offset))
        query = urlencode({k: v for k, v in state.items() if v})
        url = "/calls" + ("?" + "&".join(filter(None, (query, f"offset={offset}" if offset else ""))) if query or offset else "")
        team = [u for u in await accounts.team_members(tenant) if policy.can_take_calls(u.role)]
        ctx = {
            "active": "calls",
            "page": page,
            "state": state,
            "query": query,
            "team": team,
            "statuses": schemas.STATUSES,
            "directions": schemas.DIRECTIONS,
            "message": message,
            "live_after": live_after,
            "self_url": url,
        }
        return render(
            request,
            "calls/log.html",
            ctx,
            block="results" if targets(request, "call-results") else "content",
            push_url=None if request.headers.get("hx-trigger") == "call-results" else url,
        )

    @get("/new", guards=[guard(policy.LOG)])
    async def new(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        lead_id: Annotated[str | None, Parameter(max_length=19)] = None,
        contact_id: Annotated[str | None, Parameter(max_length=19)] = None,
        ticket_id: Annotated[str | None, Parameter(max_length=19)] = None,
    ) -> Template:
        """The "log a call" form; from a lead, contact or ticket page it carries that record."""
        zone = _zone(request)
        form = {"lead_id": lead_id or "", "contact_id": contact_id or "", "ticket_id": ticket_id or "", "direction": "outbound",
                "status": "completed", "started_at": datetime.now(zone).strftime("%Y-%m-%dT%H:%M"), "talk_minutes": "5"}  # fmt: skip
        return await self._form(request, tenant, form, {})

    async def _form(
        self, request: Request[Any, Any, Any], tenant: TenantScope, form: dict[str, str], errors: dict[str, str], status_code: int = 200
    ) -> Template:
        team = [
            u
            for u in await accounts.team_members(tenant)
            if policy.can_take_calls(u.role) and policy.LOG.allows(tenant, {"agent_id": u.id})
        ]
        ctx = {
            "active": "calls",
            "form": form,
            "errors": errors,
            "team": team,
            "statuses": schemas.STATUSES,
            "directions": schemas.DIRECTIONS,
        }
        return render(request, "calls/new.html", ctx, status_code=status_code)

    @post("/", guards=[guard(policy.LOG)])
    async def create(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template | Redirect:
        """Log the call (its start in the person's zone, a wait and a talk time in minutes), then go back where it was
        logged from (the ticket) or to the log."""
        zone = _zone(request)
        form = clean_form(data)
        values: dict[str, Any] = {
            k: form[k].strip()
            for k in ("to_number", "from_number", "direction", "status", "queue", "disposition", "notes")
            if form.get(k, "").strip()
        }
        values["metadata"] = {k: int(form[k]) for k in LINKS if _id(form.get(k))}
        if _id(form.get("agent_id")):
            values["agent_id"] = int(form["agent_id"])
        try:
            started = datetime.fromisoformat(form.get("started_at", ""))
            started = started if started.tzinfo else started.replace(tzinfo=zone)
            values["started_at"] = started.isoformat()
            talk = float(form.get("talk_minutes") or 0)
            wait = float(form.get("wait_seconds") or 0)
            if values.get("status", "completed") in ("completed", "answered"):
                answered = started + timedelta(seconds=wait)
                values["answered_at"] = answered.isoformat()
                if values.get("status", "completed") == "completed":
                    values["ended_at"] = (answered + timedelta(minutes=talk)).isoformat()
        except ValueError:
            values["started_at"] = form.get("started_at", "")  # the schema refuses it next to the field
        try:
            call = await service.create_call(tenant, convert_input(values, schemas.CallCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._form(request, tenant, form, form_errors(exc), status_code=422)
        if call.ticket_id:
            return Redirect(path=f"/tickets/{call.ticket_id}", status_code=303)
        return Redirect(path="/calls", status_code=303)

    @get("/analytics", guards=[guard(policy.ANALYTICS)])
    async def analytics(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        period_type: Annotated[str | None, Parameter(max_length=10)] = None,
        start_date: Annotated[str | None, Parameter(max_length=10)] = None,
        end_date: Annotated[str | None, Parameter(max_length=10)] = None,
    ) -> Template:
        """KPIs, a bar per period (answered and not) and the queues' table; the range lives in the URL."""
        kind = period_type if period_type in ("daily", "weekly", "monthly", "quarterly") else "monthly"
        message = None
        try:
            first = date.fromisoformat(start_date) if start_date else None
            last = date.fromisoformat(end_date) if end_date else None
        except ValueError:
            first = last = None
            message = "Dates are YYYY-MM-DD; showing the current period."
        default_first, default_last = analytics.default_range(kind, datetime.now(_zone(request)).date())
        first, last = first or default_first, last or default_last
        # The chart's bars: days for a month or two, weeks for up to a year, months beyond.
        span = (last - first).days
        bucket = "daily" if span <= 62 else "weekly" if span <= 366 else "monthly"
        try:
            data = await analytics.call_analytics(tenant, bucket, first, last)
        except ValidationFailed as exc:
            message = exc.human or exc.message
            data = await analytics.call_analytics(tenant, bucket, default_first, default_last)
        state = {"period_type": kind, "start_date": data.start_date, "end_date": data.end_date}
        ctx = {"active": "calls", "data": data, "state": state, "chart": bars(data.periods), "message": message}
        return render(request, "calls/analytics.html", ctx, push_url="/calls/analytics?" + urlencode(state))


PROVIDER_FIELDS = ("name", "provider_type", "host", "port", "username", "password", "context", "api_url")


class TelephonyPagesController(Controller):
    """Settings → Telephony (admins): the workspace's telephony providers listed, added, changed and removed; the
    password is write-only (never shown back, a blank one keeps it); the webhook secret is shown once; "Test
    connection" says whether the provider answers."""

    path = "/settings/telephony"
    include_in_schema = False
    guards = [guard(policy.PROVIDERS)]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        *,
        editing: schemas.Provider | None = None,
        form: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        created: schemas.ProviderCreated | None = None,
        message: str | None = None,
        status_code: int = 200,
    ) -> Template:
        if form is None:
            form = (
                {
                    "name": editing.name,
                    "provider_type": editing.provider_type,
                    "host": editing.host,
                    "port": str(editing.port),
                    "username": editing.username,
                    "context": editing.context,
                    "api_url": editing.api_url or "",
                    "is_active": "1" if editing.is_active else "",
                }
                if editing
                else {"provider_type": "twilio", "port": "443", "is_active": "1"}
            )
        ctx = {
            "active": "settings",
            "tab": "telephony",
            "providers": await service.list_providers(tenant),
            "types": schemas.PROVIDER_TYPES,
            "editing": editing,
            "form": form,
            "errors": errors or {},
            "created": created,
            "message": message,
            "tests": {},
        }
        return render(request, "calls/providers.html", ctx, status_code=status_code)

    @get("/")
    async def index(
        self, request: Request[Any, Any, Any], tenant: TenantScope, edit: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None
    ) -> Template:
        """The providers, and the form to add one (or change the one named by `?edit=`)."""
        editing = await service.get_provider(tenant, edit) if edit is not None else None
        return await self._page(request, tenant, editing=editing)

    @staticmethod
    def _values(form: dict[str, str], *, creating: bool) -> dict[str, Any]:
        values: dict[str, Any] = {k: form.get(k, "").strip() for k in PROVIDER_FIELDS if k != "password"}
        values["port"] = int(values["port"]) if values["port"].isdigit() and len(values["port"]) < 7 else values["port"] or 5060
        values["api_url"] = values["api_url"] or None
        values["is_active"] = form.get("is_active") == "1"
        if form.get("password"):  # write-only: blank keeps the one stored
            values["password"] = form["password"]
        elif creating:
            values["password"] = ""
        return values

    @post("/")
    async def create(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template:
        """Add a provider, then show its webhook secret this once."""
        form = clean_form(data)
        try:
            created = await service.create_provider(tenant, convert_input(self._values(form, creating=True), schemas.ProviderCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._page(request, tenant, form={**form, "password": ""}, errors=form_errors(exc), status_code=422)
        return await self._page(request, tenant, created=created, message=f"{created.name} added.", status_code=201)

    @post("/{provider_id:int}")
    async def update(
        self, request: Request[Any, Any, Any], tenant: TenantScope, provider_id: Annotated[int, Parameter(ge=1, le=2**63 - 1)], data: Form
    ) -> Template | Redirect:
        """Save the changes (a blank password keeps the stored one)."""
        form = clean_form(data)
        values = self._values(form, creating=False)
        values.pop("provider_type", None)  # the type is chosen when it is added
        try:
            await service.update_provider(tenant, provider_id, convert_input(values, schemas.ProviderUpdate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            editing = await service.get_provider(tenant, provider_id)
            return await self._page(
                request, tenant, editing=editing, form={**form, "password": ""}, errors=form_errors(exc), status_code=422
            )
        return Redirect(path="/settings/telephony", status_code=303)

    @post("/{provider_id:int}/delete")
    async def delete(self, tenant: TenantScope, provider_id: Annotated[int, Parameter(ge=1, le=2**63 - 1)]) -> Redirect:
        """Remove it (its calls stay in the log)."""
        await service.delete_provider(tenant, provider_id)
        return Redirect(path="/settings/telephony", status_code=303)

    @post("/{provider_id:int}/test")
    async def test(
        self, request: Request[Any, Any, Any], tenant: TenantScope, provider_id: Annotated[int, Parameter(ge=1, le=2**63 - 1)]
    ) -> Template:
        """Test the connection and show the result in the provider's row (the whole page without JavaScript)."""
        result: schemas.ProviderTest | None = None
        refusal: str | None = None
        try:
            result = await service.test_provider(tenant, provider_id)
        except ValidationFailed as exc:
            refusal = exc.human or exc.message
        provider = await service.get_provider(tenant, provider_id)
        if targets(request, f"test-{provider_id}"):
            ctx = {"p": provider, "tests": {provider_id: (result, refusal)}}
            return render(request, "calls/providers.html", ctx, block="provider_test")
        words = refusal or (
            f"Connected in {result.latency_ms:g} ms."
            if result and result.ok and result.latency_ms is not None
            else f"Could not connect: {result.error if result else ''}"
        )
        return await self._page(request, tenant, message=f"{provider.name}: {words}")
