"""My day, the agent's start page (phone first): overdue, today's and upcoming tasks, the ranked call-next queue with
tap-to-call, WhatsApp and e-mail links, and one form per item that logs the outcome and plans the next step; done
items leave the list, and the lists redraw live. Managers also see the team's load per person."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Controller, Request, get, post
from litestar.response import Template

from app.activities import policy, schemas, service, workspace
from app.core.errors import DomainError, ValidationFailed
from app.core.validation import convert_input
from app.db import TenantScope
from app.events.stream import latest_id
from app.web.auth import guard
from app.web.context import principal_of
from app.web.ui import Form, clean_form, form_errors, refusal_stays_on_page, render

NEXT_TYPES = ("call", "whatsapp", "email", "viewing", "meeting", "todo")


def _zone_name(request: Request[Any, Any, Any]) -> str:
    principal = principal_of(request.scope)  # type: ignore[arg-type]
    return principal.time_zone if principal else "UTC"


def _zone(request: Request[Any, Any, Any]) -> ZoneInfo:
    try:
        return ZoneInfo(_zone_name(request))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def whatsapp_link(phone: str | None) -> str | None:
    """`https://wa.me/<digits>` for an international number (wa.me takes the number without + or spaces)."""
    digits = re.sub(r"\D", "", phone or "")
    return f"https://wa.me/{digits}" if len(digits) >= 7 else None


def tel_link(phone: str | None) -> str | None:
    """`tel:+971…` without spaces or brackets."""
    cleaned = re.sub(r"[^\d+]", "", phone or "")
    return f"tel:{cleaned}" if len(cleaned) >= 7 else None


def _outcome_input(form: dict[str, str], zone: ZoneInfo) -> dict[str, Any]:
    """The one form's fields as the LogOutcome schema reads them; the next step's date and time are the person's."""
    if not form.get("outcome"):
        raise ValidationFailed(
            "Invalid outcome: say what came of it",
            details={"field": "outcome", "provided": "", "expected": "one of " + ", ".join(o for o in schemas.OUTCOMES if o)},
            human="Choose what came of it",
        )
    values: dict[str, Any] = {"outcome": form["outcome"], "notes": form.get("notes", "").strip()}
    values["next_type"] = form.get("next_type") or "call"
    values["next_subject"] = form.get("next_subject", "").strip()
    raw = form.get("next_due_at", "").strip()
    if raw:
        try:
            moment = datetime.fromisoformat(raw)
            values["next_due_at"] = (moment if moment.tzinfo else moment.replace(tzinfo=zone)).isoformat()
        except ValueError:
            values["next_due_at"] = raw  # the schema refuses it next to the field
    return values


async def _page(
    request: Request[Any, Any, Any],
    tenant: TenantScope,
    *,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    failed: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    live_after = await latest_id(tenant.tenant_id)  # before the figures it covers: what changes after is streamed
    day = await workspace.my_day(tenant, _zone_name(request))
    ctx = {
        "active": "my-day",
        "day": day,
        "message": message,
        "errors": errors or {},
        "failed": failed,
        "form": form or {},
        "outcomes": [o for o in schemas.OUTCOMES if o],
        "next_types": NEXT_TYPES,
        "tel": tel_link,
        "whatsapp": whatsapp_link,
        "tomorrow": (datetime.now(_zone(request)) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0),
        "live_after": live_after,
    }
    return render(request, "activities/my_day.html", ctx, block="day", status_code=status_code)


class MyDayController(Controller):
    """The My day screen and its one-move outcome forms."""

    path = "/my-day"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    @get("/")
    async def my_day(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Overdue, today and upcoming tasks, the call-next queue (and the team's load, for managers)."""
        return await _page(request, tenant)

    @post("/tasks/{task_id:int}/outcome", guards=[guard(policy.MANAGE)])
    async def task_outcome(self, request: Request[Any, Any, Any], tenant: TenantScope, task_id: int, data: Form) -> Template:
        """Log what came of a task (its call in the call log), complete it and plan the next step, in one move."""
        form = clean_form(data)
        try:
            logged = await workspace.log_outcome(tenant, task_id, convert_input(_outcome_input(form, _zone(request)), schemas.LogOutcome))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await _page(request, tenant, errors=form_errors(exc), failed=f"task-{task_id}", form=form, status_code=422)
        return await _page(request, tenant, message=_said(logged))

    @post("/leads/{lead_id:int}/outcome", guards=[guard(policy.MANAGE)])
    async def lead_outcome(self, request: Request[Any, Any, Any], tenant: TenantScope, lead_id: int, data: Form) -> Template:
        """Log a call to a lead of the queue and plan the next step, in one move."""
        form = clean_form(data)
        try:
            logged = await workspace.log_lead_call(tenant, lead_id, convert_input(_outcome_input(form, _zone(request)), schemas.LogOutcome))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await _page(request, tenant, errors=form_errors(exc), failed=f"lead-{lead_id}", form=form, status_code=422)
        return await _page(request, tenant, message=_said(logged))


def _said(logged: workspace.Logged) -> str:
    """What the one move did, in a sentence for the status line."""
    said = f"Done: {logged.task.subject}"
    if logged.call_id is not None:
        said += " (call logged)"
    if logged.next_task is not None:
        said += f". Next: {logged.next_task.subject}"
    return said + "."


async def start_page(request: Request[Any, Any, Any], tenant: TenantScope) -> Template | None:
    """My day as an agent's start page (app.dashboard asks through `provide_start_page`)."""
    if not policy.starts_on_my_day(tenant) or not policy.VIEW.allows(tenant):
        return None
    return await _page(request, tenant)


class LeadTasksController(Controller):
    """A lead's open tasks on its page (loaded into it), and its score recommendations made tasks in one click."""

    path = "/leads/{lead_id:int}/tasks"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    async def _card(self, request: Request[Any, Any, Any], tenant: TenantScope, lead_id: int, message: str | None = None) -> Template:
        tasks = await service.open_for_lead(tenant, lead_id)
        return render(request, "activities/lead_tasks.html", {"lead_id": lead_id, "tasks": tasks, "message": message}, block="card")

    @get("/")
    async def tasks(self, request: Request[Any, Any, Any], tenant: TenantScope, lead_id: int) -> Template:
        """The lead's open tasks, soonest first."""
        return await self._card(request, tenant, lead_id)

    @post("/", guards=[guard(policy.MANAGE)])
    async def from_recommendation(self, request: Request[Any, Any, Any], tenant: TenantScope, lead_id: int, data: Form) -> Template:
        """Make one of the lead's score recommendations a task (for the lead's agent), then show its open tasks."""
        form = clean_form(data)
        body = {"lead_id": lead_id, "recommendation": form.get("recommendation", "")}
        task = await service.from_recommendation(tenant, convert_input(body, schemas.FromRecommendation))
        return await self._card(request, tenant, lead_id, message=f"Planned: {task.subject}")
