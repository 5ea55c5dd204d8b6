"""Automation rules (the API's workflows): their list, changes and run log. Running them is app.automation.runner."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
from msgspec import UNSET

from app.automation import policy, schemas
from app.automation.tables import Workflow
from app.core.errors import ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery, Page, page_of
from app.db import TenantScope, fetch, fetch_as, tenant_transaction
from app.events.catalog import event_types, live_only
from app.events.service import Subject, emit

BIGINT_MAX = 2**63 - 1
HOT_LEAD_RULE: dict[str, Any] = {
    "name": "Hot lead: call now",
    "trigger": "lead.hot",
    "conditions": [],
    "actions": [
        {"type": "create_task", "task_type": "call", "subject": "Call within 15 minutes", "due_in_minutes": 0, "owner": "lead_agent"}
    ],
    "builtin": "hot_lead_call",
}
_SELECT = """SELECT w.id, w.name, w.trigger, w.conditions, w.actions, w.active, w.builtin,
       (SELECT count(*) FROM workflow_run r WHERE r.workflow_id = w.id AND r.status = 'done') AS runs,
       (SELECT max(r.created_at) FROM workflow_run r WHERE r.workflow_id = w.id) AS last_run_at, w.created_at, w.updated_at
  FROM workflow w"""


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("conditions", "actions"):
        if isinstance(row[name], str):
            row[name] = json.loads(row[name])
    return row


async def set_up_tenant(scope: TenantScope) -> None:
    """Every new tenant starts with the built-in "hot lead → call now" rule, on (inside its registration transaction)."""
    await Workflow.insert(
        Workflow(
            tenant_id=scope.tenant_id,
            name=HOT_LEAD_RULE["name"],
            trigger=HOT_LEAD_RULE["trigger"],
            conditions=[],
            actions=HOT_LEAD_RULE["actions"],
            builtin=HOT_LEAD_RULE["builtin"],
        )
    )


async def list_workflows(scope: TenantScope, query: ListQuery) -> Page[schemas.Workflow]:
    """The tenant's rules, oldest first."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(f"{_SELECT} WHERE w.tenant_id = $1 ORDER BY w.id LIMIT {query.limit} OFFSET {query.offset}", scope.tenant_id)
        total = (await fetch("SELECT count(*) AS n FROM workflow WHERE tenant_id = $1", scope.tenant_id))[0]["n"]
    return page_of(schemas.Workflow, [_decoded(r) for r in rows], query, int(total))


def _not_found(workflow_id: int) -> ResourceNotFound:
    return ResourceNotFound("Workflow not found", details={"workflow_id": workflow_id})


async def _read(scope: TenantScope, workflow_id: int) -> schemas.Workflow:
    if not 0 < workflow_id <= BIGINT_MAX:
        raise _not_found(workflow_id)
    rows = await fetch(f"{_SELECT} WHERE w.tenant_id = $1 AND w.id = $2", scope.tenant_id, workflow_id)
    if not rows:
        raise _not_found(workflow_id)
    return msgspec.convert(_decoded(rows[0]), schemas.Workflow)


async def get_workflow(scope: TenantScope, workflow_id: int) -> schemas.Workflow:
    """One rule (404 for another tenant's id)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _read(scope, workflow_id)


def _check_trigger(trigger: str) -> None:
    if trigger not in event_types() or trigger in live_only():
        raise ValidationFailed(
            f"Invalid trigger: {trigger} is not an event type",
            details={
                "field": "trigger",
                "provided": trigger,
                "expected": "an event type, e.g. lead.status_changed",
                "reason": "unknown_event",
            },
            human="Choose an event the rule starts on",
        )


async def _check_actions(scope: TenantScope, actions: list[schemas.Action]) -> None:
    """Each action says what it needs (a status to set, a tag, a user who is an active member of this team)."""
    for index, action in enumerate(actions):
        field = f"actions[{index}]"
        needs = {
            "set_status": ("status", action.status),
            "add_tag": ("tag", action.tag),
            "send_template": ("template_id", action.template_id),
            "call_webhook": ("webhook_id", action.webhook_id),
        }.get(action.type)
        if needs is not None and not needs[1]:
            raise ValidationFailed(
                f"Invalid {field}: {action.type} needs {needs[0]}",
                details={"field": f"{field}.{needs[0]}", "expected": f"a {needs[0]}", "reason": "incomplete_action"},
                human=f"Say which {needs[0].removesuffix('_id')} the rule {'uses' if needs[0].endswith('_id') else 'sets'}",
            )
        for name, table, what in (("template_id", "message_template", "template"), ("webhook_id", "webhook_endpoint", "webhook")):
            value = getattr(action, name) if action.type in ("send_template", "call_webhook") else None
            if value is not None and not await fetch(f"SELECT 1 FROM {table} WHERE id = $1 AND tenant_id = $2", value, scope.tenant_id):
                raise ValidationFailed(
                    f"Invalid {field}.{name}: no such {what} in your tenant",
                    details={
                        "field": f"{field}.{name}",
                        "provided": value,
                        "expected": f"the id of one of your {what}s",
                        "reason": "unknown_reference",
                    },
                    human=f"Choose one of your {what}s",
                )
        wants_user = (action.type == "assign" and action.to != "round_robin") or (action.type == "create_task" and action.owner == "user")
        if wants_user:
            if action.user_id is None:
                raise ValidationFailed(
                    f"Invalid {field}: name the user_id",
                    details={
                        "field": f"{field}.user_id",
                        "expected": "the id of an active person of your team",
                        "reason": "incomplete_action",
                    },
                    human="Choose the person",
                )
            rows = await fetch("SELECT 1 FROM app_user WHERE id = $1 AND tenant_id = $2 AND is_active", action.user_id, scope.tenant_id)
            if not rows:
                raise ValidationFailed(
                    f"Invalid {field}.user_id: no active person with this id in your team",
                    details={
                        "field": f"{field}.user_id",
                        "provided": action.user_id,
                        "expected": "the id of an active person of your team",
                        "reason": "unknown_reference",
                    },
                    human="Choose someone in your team",
                )


async def action_choices(scope: TenantScope) -> dict[str, list[dict[str, Any]]]:
    """What the rule form offers to send and call: the tenant's active message templates and webhook endpoints."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return {
            "templates": await fetch(
                "SELECT id, name, type FROM message_template WHERE tenant_id = $1 AND is_active ORDER BY lower(name), id LIMIT 200",
                scope.tenant_id,
            ),
            "webhooks": await fetch(
                "SELECT id, url FROM webhook_endpoint WHERE tenant_id = $1 AND active ORDER BY id LIMIT 200", scope.tenant_id
            ),
        }


def _builtins(values: list[Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in msgspec.to_builtins(value).items() if v is not None} for value in values]


async def create_workflow(scope: TenantScope, data: schemas.WorkflowCreate) -> schemas.Workflow:
    """A new rule; it acts on events written from now on."""
    policy.MANAGE.require(scope)
    _check_trigger(data.trigger)
    async with tenant_transaction(scope.tenant_id):
        await _check_actions(scope, data.actions)
        now = datetime.now(UTC)
        rows = await Workflow.insert(
            Workflow(
                tenant_id=scope.tenant_id,
                name=data.name.strip(),
                trigger=data.trigger,
                conditions=_builtins(data.conditions),
                actions=_builtins(data.actions),
                active=data.active,
                created_by=scope.user_id,
                created_at=now,
                updated_at=now,
            )
        ).returning(Workflow.id)
        workflow = await _read(scope, rows[0]["id"])
        await emit(scope, Subject("workflow", workflow.id), "workflow.created", audit={"name": workflow.name, "trigger": workflow.trigger})
        return workflow


async def update_workflow(scope: TenantScope, workflow_id: int, data: schemas.WorkflowUpdate) -> schemas.Workflow:
    """Change a rule, or turn it off (`active: false`) or on."""
    policy.MANAGE.require(scope)
    values: dict[str, Any] = {name: value for name in data.__struct_fields__ if (value := getattr(data, name)) is not UNSET}
    if "trigger" in values:
        _check_trigger(values["trigger"])
    async with tenant_transaction(scope.tenant_id):
        await _read(scope, workflow_id)
        if "actions" in values:
            await _check_actions(scope, values["actions"])
            values["actions"] = _builtins(values["actions"])
        if "conditions" in values:
            values["conditions"] = _builtins(values["conditions"])
        if "name" in values:
            values["name"] = values["name"].strip()
        if values:
            await Workflow.update({**values, "updated_at": datetime.now(UTC)}).where(Workflow.id == workflow_id)  # type: ignore[arg-type,dict-item]
            await emit(scope, Subject("workflow", workflow_id), "workflow.updated", audit={"changed": sorted(values)})
        return await _read(scope, workflow_id)


async def delete_workflow(scope: TenantScope, workflow_id: int) -> None:
    """Delete a rule and its run log."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await _read(scope, workflow_id)
        await Workflow.delete().where(Workflow.id == workflow_id)
        await emit(scope, Subject("workflow", workflow_id), "workflow.deleted", audit=True)


async def runs(scope: TenantScope, workflow_id: int | None, query: ListQuery) -> Page[schemas.WorkflowRun]:
    """The run log, newest first: every rule's, or one's."""
    policy.VIEW.require(scope)
    where, args = "tenant_id = $1", [scope.tenant_id]
    if workflow_id is not None:
        where, args = "tenant_id = $1 AND workflow_id = $2", [scope.tenant_id, min(workflow_id, BIGINT_MAX)]
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch_as(
            schemas.WorkflowRun,
            "SELECT id, workflow_id, event_id, event_type, subject_type, subject_id, status, detail, created_at FROM workflow_run "
            f"WHERE {where} ORDER BY id DESC LIMIT {query.limit} OFFSET {query.offset}",
            *args,
        )
        total = (await fetch(f"SELECT count(*) AS n FROM workflow_run WHERE {where}", *args))[0]["n"]
    return page_of(schemas.WorkflowRun, rows, query, int(total))
