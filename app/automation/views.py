"""Settings → Automation: the rules (the built-in hot-lead rule among them), a form to add one, turning one off or on,
deleting it, and the run log. Admins change rules; managers read them."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Template

from app.automation import policy, schemas, service
from app.core.errors import DomainError
from app.core.pagination import ListQuery
from app.core.validation import convert_input
from app.db import TenantScope
from app.events.catalog import event_types, live_only
from app.web.auth import guard
from app.web.ui import Form, clean_form, form_errors, refusal_stays_on_page, render

WorkflowId = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
CONDITION_FIELDS = ("status", "hotness_score", "temperature", "source", "budget_max", "budget_min", "property_type", "agent_id")
OPERATORS = {"changed_to": "becomes", "eq": "is", "ne": "is not", "gte": "is at least", "lte": "is at most", "contains": "contains"}
STATUSES = ("NEW", "CONTACTED", "QUALIFIED", "VIEWING_SCHEDULED", "NEGOTIATING", "WON", "LOST")


def _value(raw: str) -> Any:
    """A condition's value as typed: a whole number is a number, `none` is nothing, anything else text."""
    text = raw.strip()
    if text.lower() in ("none", "nobody", "null"):
        return None
    return int(text) if text.isdigit() and len(text) < 16 else text


def _rule_input(form: dict[str, str], ticked: list[str]) -> dict[str, Any]:
    """The screen's form (one condition, ticked actions) as the WorkflowCreate schema reads it."""
    conditions = []
    if form.get("field"):
        conditions.append({"field": form["field"], "op": form.get("op") or "eq", "value": _value(form.get("value", ""))})
    actions: list[dict[str, Any]] = []
    if "assign" in ticked:
        actions.append({"type": "assign", "to": "round_robin"})
    if "create_task" in ticked:
        minutes = form.get("due_in_minutes", "0").strip()
        actions.append({"type": "create_task", "task_type": form.get("task_type") or "call", "subject": form.get("subject", "").strip(),
                        "due_in_minutes": int(minutes) if minutes.isdigit() and len(minutes) < 7 else minutes})  # fmt: skip
    if "set_status" in ticked:
        actions.append({"type": "set_status", "status": form.get("status") or None})
    if "add_tag" in ticked:
        actions.append({"type": "add_tag", "tag": form.get("tag", "").strip() or None})
    if "send_template" in ticked:
        template = form.get("template_id", "")
        actions.append({"type": "send_template", "template_id": int(template) if template.isdigit() and len(template) < 16 else None})
    if "call_webhook" in ticked:
        webhook = form.get("webhook_id", "")
        actions.append({"type": "call_webhook", "webhook_id": int(webhook) if webhook.isdigit() and len(webhook) < 16 else None})
    return {"name": form.get("name", "").strip(), "trigger": form.get("trigger", ""), "conditions": conditions, "actions": actions}


def describe(rule: schemas.Workflow) -> tuple[str, str]:
    """A rule's conditions and actions in words, for its row."""
    when = " and ".join(f"{c['field']} {OPERATORS.get(c.get('op', 'eq'), c.get('op'))} {c.get('value', 'nobody')}" for c in rule.conditions)
    words = []
    for a in rule.actions:
        if a["type"] == "assign":
            words.append("assign round-robin" if a.get("to") == "round_robin" else f"assign to user {a.get('user_id')}")
        elif a["type"] == "create_task":
            due = f"due in {a.get('due_in_minutes', 0)} min" if a.get("due_in_minutes") else "due now"
            words.append(f"create a {a.get('task_type', 'call')} task “{a.get('subject') or rule.name}” ({due})")
        elif a["type"] == "set_status":
            words.append(f"set status {a.get('status')}")
        elif a["type"] == "add_tag":
            words.append(f"tag {a.get('tag')}")
        elif a["type"] == "send_template":
            words.append(f"send template {a.get('template_id')}" + (f" by {a['channel']}" if a.get("channel") else ""))
        elif a["type"] == "call_webhook":
            words.append(f"call webhook {a.get('webhook_id')}")
    return when or "always", ", then ".join(words)


class WorkflowPagesController(Controller):
    """Settings → Automation."""

    path = "/settings/automation"
    include_in_schema = False
    guards = [guard(policy.VIEW)]

    async def _index(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        message: str | None = None,
    ) -> Template:
        rules = await service.list_workflows(tenant, ListQuery(limit=100))
        runs = await service.runs(tenant, None, ListQuery(limit=30))
        names = {r.id: r.name for r in rules.data}
        ctx = {
            "active": "settings",
            "tab": "automation",
            "rules": [(r, *describe(r)) for r in rules.data],
            "runs": runs,
            "names": names,
            "triggers": {k: v for k, v in event_types().items() if k not in live_only()},
            "fields": CONDITION_FIELDS,
            "operators": OPERATORS,
            "statuses": STATUSES,
            "task_types": ("call", "whatsapp", "email", "meeting", "viewing", "todo"),
            **await service.action_choices(tenant),
            "errors": errors or {},
            "values": values or {},
            "message": message,
        }
        return render(request, "settings/automation.html", ctx, block="automation", status_code=422 if errors else 200)

    @get("/")
    async def index(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """The rules, a form to add one (admins), and the run log."""
        return await self._index(request, tenant)

    @post("/", guards=[guard(policy.MANAGE)])
    async def create(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Add a rule from the form (one condition; any of the actions, in order)."""
        form = await request.form()
        ticked = [str(v) for v in form.getall("actions")] if "actions" in form else []
        values = clean_form({k: str(v) for k, v in form.items()})
        try:
            rule = await service.create_workflow(tenant, convert_input(_rule_input(values, ticked), schemas.WorkflowCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._index(request, tenant, errors=form_errors(exc), values={**values, "ticked": ticked})
        return await self._index(request, tenant, message=f"Rule “{rule.name}” added: it acts on events from now on.")

    @post("/{workflow_id:int}/active", guards=[guard(policy.MANAGE)])
    async def toggle(self, request: Request[Any, Any, Any], tenant: TenantScope, workflow_id: WorkflowId, data: Form) -> Template:
        """Turn a rule off or on."""
        active = clean_form(data).get("active") == "true"
        rule = await service.update_workflow(tenant, workflow_id, schemas.WorkflowUpdate(active=active))
        return await self._index(request, tenant, message=f"Rule “{rule.name}” turned {'on' if active else 'off'}.")

    @post("/{workflow_id:int}/delete", guards=[guard(policy.MANAGE)])
    async def remove(self, request: Request[Any, Any, Any], tenant: TenantScope, workflow_id: WorkflowId) -> Template:
        """Delete a rule and its run log."""
        await service.delete_workflow(tenant, workflow_id)
        return await self._index(request, tenant, message="Rule deleted.")
