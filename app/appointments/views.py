"""Browser UI for appointments: the agenda (day or week), a lead's appointments with a booking form, status
actions, .ics downloads and the person's calendar feed (public, by its secret address)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Redirect, Response, Template

from app.accounts import service as accounts
from app.appointments import policy, schemas, service
from app.core.errors import Conflict, DomainError
from app.core.pagination import ListQuery
from app.core.validation import convert_input
from app.db import TenantScope
from app.events.stream import latest_id
from app.leads import service as leads
from app.settings import Settings
from app.web.auth import guard
from app.web.context import principal_of
from app.web.times import zone_label
from app.web.ui import Form, clean_form, form_errors, refusal_stays_on_page, render, targets

ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"
DURATIONS = (30, 45, 60, 90, 120)
Id = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
# What a status button says, for the statuses a person sets by hand.
ACTIONS = {"confirmed": "Confirm", "completed": "Complete", "no_show": "No-show", "cancelled": "Cancel"}


def _zone_of(request: Request[Any, Any, Any]) -> ZoneInfo:
    principal = principal_of(request.scope)  # type: ignore[arg-type]
    try:
        return ZoneInfo(principal.time_zone if principal else "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def clash_in_words(exc: Conflict, zone: ZoneInfo) -> str | None:
    """A refused double-booking in a person's words and zone: `Omar Haddad is already booked on 07 Dec 2026,
    15:00 to 16:00 GST: viewing with Ali Hassan.`"""
    clash = exc.details.get("clashing_appointment")
    if not isinstance(clash, dict):
        return None
    starts, ends = clash["starts_at"].astimezone(zone), clash["ends_at"].astimezone(zone)
    return (
        f"{clash['agent_name']} is already booked on {starts:%d %b %Y}, {starts:%H:%M} to {ends:%H:%M} {zone_label(starts)}: "
        f"{clash['type']} with {clash['lead_name']}. Choose another time or agent."
    )


def _errors(exc: DomainError, zone: ZoneInfo) -> dict[str, str]:
    words = clash_in_words(exc, zone) if isinstance(exc, Conflict) else None
    return {"starts_at": words} if words else form_errors(exc)


def _booking_input(form: dict[str, str], lead_id: int, zone: ZoneInfo) -> dict[str, Any]:
    """The booking form (a local date-time and a duration in the viewer's zone) → AppointmentCreate's input."""
    values: dict[str, Any] = {k: v.strip() for k, v in clean_form(form).items() if v.strip() and k != "duration"}
    values["lead_id"] = lead_id
    raw = values.get("starts_at", "")
    try:
        starts = datetime.fromisoformat(raw)
    except ValueError:
        return values  # the schema refuses it, next to the field
    if starts.tzinfo is None:
        starts = starts.replace(tzinfo=zone)
    duration = form.get("duration", "60")
    minutes = int(duration) if duration.isdigit() and int(duration) in DURATIONS else 60
    values["starts_at"] = starts.isoformat()
    values["ends_at"] = (starts + timedelta(minutes=minutes)).isoformat()
    return values


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


class AppointmentPagesController(Controller):
    """Appointment screens."""

    path = "/"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    @get("/agenda")
    async def agenda(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        view: Annotated[str | None, Parameter(max_length=10)] = None,
        date: Annotated[str | None, Parameter(max_length=10, description="YYYY-MM-DD")] = None,
        agent: Annotated[str | None, Parameter(max_length=19, description="a user id")] = None,
    ) -> Template:
        """Upcoming appointments by day or by week, in the viewer's zone; the view, date and agent live in the URL."""
        return await self._agenda(request, tenant, view, date, agent)

    async def _agenda(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        view: str | None,
        day: str | None,
        agent: str | None,
        *,
        message: str | None = None,
        feed: schemas.CalendarFeed | None = None,
    ) -> Template:
        live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
        zone = _zone_of(request)
        shown: Literal["day", "week"] = "day" if view == "day" else "week"
        try:
            chosen = datetime.strptime(day or "", "%Y-%m-%d").date()
        except ValueError:
            chosen = datetime.now(zone).date()
        first = chosen if shown == "day" else _week_start(chosen)
        days = 1 if shown == "day" else 7
        start = datetime.combine(first, time(), tzinfo=zone)
        end = datetime.combine(first + timedelta(days=days), time(), tzinfo=zone)
        agent_id = int(agent) if agent and agent.isdigit() else None
        appointments = await service.agenda(tenant, start.astimezone(UTC), end.astimezone(UTC), agent_id)
        by_day: dict[date, list[schemas.Appointment]] = {first + timedelta(days=n): [] for n in range(days)}
        for appointment in appointments:
            by_day.setdefault(appointment.starts_at.astimezone(zone).date(), []).append(appointment)
        state = {"view": shown, "date": first.isoformat(), "agent": str(agent_id or "")}

        def link(**changes: str) -> str:
            return "/agenda?" + urlencode({k: v for k, v in {**state, **changes}.items() if v})

        step = timedelta(days=days)
        team = await accounts.team_members(tenant)
        ctx = {
            "active": "agenda",
            "state": state,
            "by_day": by_day,
            "today": datetime.now(zone).date(),
            "title": f"{first:%A %d %B %Y}" if shown == "day" else f"Week of {first:%d %B %Y}",
            "links": {
                "previous": link(date=(first - step).isoformat()),
                "next": link(date=(first + step).isoformat()),
                "today": link(date=""),
                "day": link(view="day"),
                "week": link(view="week"),
            },
            "agents": [u for u in team if policy.can_hold(u.role)],
            "actions": ACTIONS,
            "message": message,
            "feed": feed,
            "feed_since": await service.feed_created_at(tenant) if policy.FEED.allows(tenant) else None,
            "live_after": live_after,
        }
        pushed = link()
        return render(
            request, "appointments/agenda.html", ctx, block="agenda" if targets(request, "agenda") else "content", push_url=pushed
        )

    @post("/agenda/calendar-feed", guards=[guard(policy.FEED)])
    async def new_feed(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """A new secret feed address, shown once; the old one stops working."""
        feed = await service.new_feed(tenant)
        return await self._agenda(request, tenant, None, None, None, feed=feed)

    @get("/leads/{lead_id:int}/appointments")
    async def lead_appointments(self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, lead_id: Id) -> Template:
        """A lead's appointments and the form to book one (the lead page shows it as its Appointments card)."""
        return await self._lead_panel(request, tenant, settings, lead_id)

    async def _lead_panel(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        settings: Settings,
        lead_id: int,
        *,
        form: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        message: str | None = None,
        status_code: int = 200,
        changed: bool = False,
    ) -> Template:
        lead = await leads.get_lead(tenant, lead_id, settings.base_url)
        page = await service.list_appointments(tenant, service.AppointmentFilters(lead_id=lead_id), ListQuery(limit=50))
        team = await accounts.team_members(tenant)
        ctx = {
            "active": "leads",
            "lead": lead,
            "appointments": page.data,
            "agents": [u for u in team if policy.can_hold(u.role) and policy.MANAGE.allows(tenant, u.id)],
            "default_agent": policy.default_agent(tenant),
            "types": schemas.TYPES,
            "durations": DURATIONS,
            "actions": ACTIONS,
            "form": form or {},
            "errors": errors or {},
            "message": message,
        }
        return render(
            request,
            "appointments/lead.html",
            ctx,
            block="panel",
            status_code=status_code,
            # The lead page redraws itself (its next appointment, timeline and version changed).
            trigger_event="appointments-changed" if changed else None,
        )

    @post("/leads/{lead_id:int}/appointments", guards=[guard(policy.MANAGE)])
    async def book(
        self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, lead_id: Id, data: Form
    ) -> Template | Redirect:
        """Book an appointment for the lead; errors (a double-booking in words) are shown next to their fields."""
        zone = _zone_of(request)
        await leads.get_lead(tenant, lead_id, settings.base_url)  # 404 before anything else
        try:
            appointment = await service.create_appointment(
                tenant, convert_input(_booking_input(data, lead_id, zone), schemas.AppointmentCreate)
            )
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._lead_panel(
                request, tenant, settings, lead_id, form=clean_form(data), errors=_errors(exc, zone), status_code=422
            )
        if not getattr(request, "htmx", None):
            return Redirect(path=f"/leads/{lead_id}/appointments", status_code=303)
        local = appointment.starts_at.astimezone(zone)
        message = f"Booked: {appointment.type} on {local:%d %b %Y %H:%M} {zone_label(local)}."
        return await self._lead_panel(request, tenant, settings, lead_id, message=message, changed=True)

    @post("/appointments/{appointment_id:int}/status", guards=[guard(policy.MANAGE)])
    async def set_status(
        self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings, appointment_id: Id, data: Form
    ) -> Template | Redirect:
        """Confirm, complete, cancel or mark a no-show, from the agenda or the lead's card (which is redrawn)."""
        zone = _zone_of(request)
        status = data.get("status", "")
        error: str | None = None
        try:
            appointment = await service.update_appointment(
                tenant, appointment_id, convert_input({"status": status}, schemas.AppointmentUpdate)
            )
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            error = next(iter(_errors(exc, zone).values()))
            appointment = await service.get_appointment(tenant, appointment_id)
        if data.get("_from") == "lead":
            if not getattr(request, "htmx", None) and error is None:
                return Redirect(path=f"/leads/{appointment.lead_id}/appointments", status_code=303)
            errors = {"status": error} if error else {}
            message = None if error else f"{appointment.type.title()} marked {appointment.status.replace('_', '-')}."
            return await self._lead_panel(
                request, tenant, settings, appointment.lead_id, errors=errors, message=message,
                status_code=422 if error else 200, changed=error is None,
            )  # fmt: skip
        if not getattr(request, "htmx", None) and error is None:
            query = urlencode({k: data[k] for k in ("view", "date", "agent") if data.get(k)})
            return Redirect(path=f"/agenda?{query}", status_code=303)
        message = error or f"{appointment.type.title()} with {appointment.lead_name} marked {appointment.status.replace('_', '-')}."
        return await self._agenda(request, tenant, data.get("view"), data.get("date"), data.get("agent"), message=message)

    @get("/appointments/{appointment_id:int}/ics")
    async def ics(self, tenant: TenantScope, appointment_id: Id) -> Response[bytes]:
        """The appointment as an .ics file, for any calendar."""
        content = await service.appointment_ics(tenant, appointment_id)
        headers = {"Content-Disposition": f'attachment; filename="appointment-{appointment_id}.ics"'}
        return Response(content, media_type=ICS_MEDIA_TYPE, headers=headers)


class CalendarFeedController(Controller):
    """A person's calendar feed, fetched by calendar apps with its secret address alone (no session)."""

    path = "/calendar"
    include_in_schema = False

    @get("/{feed:str}")
    async def feed(self, feed: str) -> Response[bytes]:
        """`/calendar/<token>.ics`: the person's appointments from 90 days ago to a year ahead; 404 for an unknown,
        replaced or revoked address."""
        content = await service.feed_ics(feed.removesuffix(".ics"))
        if content is None:
            raise NotFoundException("No such calendar feed")
        return Response(content, media_type=ICS_MEDIA_TYPE, headers={"Cache-Control": "private, max-age=300"})
