"""Tasks and follow-ups (the API's activities): rules and queries. Every function takes the caller's `TenantScope`.

A task is planned work; what happened is recorded on the timeline of the record it is about (its lead, deal,
property, ticket or contact) through `emit`, with `activity.*` events in the outbox. Calls are logged in the call
log (`app.calls.service`), so call analytics count calls made from a task; meetings and viewings on a date are
appointments in the agenda, which a task links to (`appointment_id`) rather than keeping a calendar of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from msgspec import UNSET

from app.activities import policy, schemas
from app.activities.tables import Task
from app.core.errors import ResourceNotFound, ValidationFailed, unknown_reference
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.core.versions import require_current
from app.db import TenantScope, bounded_total, fetch, fetch_as, tenant_transaction
from app.events import notifications
from app.events.service import Subject, emit

SORTS = {"due_at": "t.due_at", "created_at": "t.created_at", "updated_at": "t.updated_at", "done_at": "t.done_at"}
SELECT = """SELECT t.id, t.type, t.subject, t.due_at, t.duration_minutes, t.done, t.done_at,
       coalesce(NOT t.done AND t.due_at < now(), false) AS overdue, t.outcome, t.notes, t.owner_id, u.full_name AS owner_name,
       t.lead_id, l.name AS lead_name, l.phone AS lead_phone, l.email AS lead_email,
       t.contact_id, t.deal_id, t.property_id, t.ticket_id, t.appointment_id, t.call_id,
       t.source, t.created_by, t.created_at, t.updated_at
  FROM task t LEFT JOIN app_user u ON u.id = t.owner_id LEFT JOIN lead l ON l.id = t.lead_id"""
# The linked records, the table each names, and the noun for errors.
_LINK_TABLES = {
    "lead_id": "lead",
    "contact_id": "contact",
    "deal_id": "deal",
    "property_id": "property",
    "ticket_id": "ticket",
    "appointment_id": "appointment",
    "call_id": "call",
}


@dataclass(frozen=True, slots=True)
class ActivityFilters:
    """Filters of `GET /v2/activities` and of the task lists on screens."""

    owner_id: int | None = None
    type: str | None = None
    due_after: datetime | None = None
    due_before: datetime | None = None
    overdue: bool | None = None
    done: bool | None = None
    lead_id: int | None = None
    contact_id: int | None = None
    deal_id: int | None = None
    property_id: int | None = None
    ticket_id: int | None = None


def _where(scope: TenantScope, filters: ActivityFilters) -> tuple[str, list[Any]]:
    clauses, args = ["t.tenant_id = $1"], [scope.tenant_id]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if not policy.sees_every_task(scope):
        add("(t.owner_id = ? OR t.owner_id IS NULL)", scope.user_id or 0)
    for name in ("owner_id", "type", "lead_id", "contact_id", "deal_id", "property_id", "ticket_id"):
        value = getattr(filters, name)
        if value is not None:
            add(f"t.{name} = ?", value)
    if filters.due_after is not None:
        add("t.due_at >= ?", filters.due_after)
    if filters.due_before is not None:
        add("t.due_at < ?", filters.due_before)
    if filters.done is not None:
        add("t.done = ?", filters.done)
    if filters.overdue is True:
        clauses.append("NOT t.done AND t.due_at < now()")
    elif filters.overdue is False:
        clauses.append("(t.done OR t.due_at IS NULL OR t.due_at >= now())")
    return " AND ".join(clauses), args


async def list_activities(scope: TenantScope, filters: ActivityFilters, query: ListQuery) -> Page[schemas.Activity]:
    """A page of tasks, soonest due first (undated last) unless `sort` says otherwise; agents see their own."""
    policy.VIEW.require(scope)
    order = sort_order(query.sort, SORTS, "due_at")
    where, args = _where(scope, filters)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch_as(
            schemas.Activity,
            f"{SELECT} WHERE {where} ORDER BY {order.sql(tiebreak='t.id', nulls_last=True)} LIMIT {query.limit} OFFSET {query.offset}",
            *args,
        )
        total, estimate = await bounded_total("task t", where, args, query.offset, query.limit, len(rows))
    return page_of(schemas.Activity, rows, query, total, estimate=estimate)


def _not_found(task_id: int) -> ResourceNotFound:
    return ResourceNotFound("Activity not found", details={"activity_id": task_id})


async def _read(scope: TenantScope, task_id: int) -> schemas.Activity:
    if not 0 < task_id <= schemas.BIGINT_MAX:
        raise _not_found(task_id)
    rows = await fetch_as(schemas.Activity, f"{SELECT} WHERE t.tenant_id = $1 AND t.id = $2", scope.tenant_id, task_id)
    if not rows or not policy.VIEW.allows(scope, rows[0]):
        raise _not_found(task_id)
    return rows[0]


async def get_activity(scope: TenantScope, task_id: int) -> schemas.Activity:
    """One task (404 for another tenant's id and, for agents, a colleague's task)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _read(scope, task_id)


async def _check_links(scope: TenantScope, values: dict[str, Any]) -> None:
    """Every linked record is the tenant's (a lead not deleted); the owner is an active person who can own tasks."""
    for name, table in _LINK_TABLES.items():
        value = values.get(name)
        if value is None:
            continue
        extra = " AND deleted_at IS NULL" if table == "lead" else ""
        if value > schemas.BIGINT_MAX or not await fetch(
            f"SELECT 1 FROM {table} WHERE id = $1 AND tenant_id = $2{extra}", value, scope.tenant_id
        ):
            raise unknown_reference(name, value, table)
    if "owner_id" in values:
        owner = values["owner_id"]
        policy.ASSIGN.require(scope, owner)
        if owner is not None:
            rows = await fetch("SELECT role FROM app_user WHERE id = $1 AND tenant_id = $2 AND is_active", owner, scope.tenant_id)
            if not rows or not policy.can_own(rows[0]["role"]):
                raise ValidationFailed(
                    "Invalid owner_id: no active admin, manager, agent or support person with this id in your team",
                    details={
                        "field": "owner_id",
                        "provided": owner,
                        "expected": "the id of an active admin, manager, agent or support person",
                        "reason": "unknown_reference",
                    },
                    human="Choose someone in your team who works tasks",
                )


def _timeline_subject(task: schemas.Activity) -> Subject | None:
    """The record whose timeline tells of the task: its lead, else its deal, property, ticket or contact."""
    for name in ("lead_id", "deal_id", "property_id", "ticket_id"):
        value = getattr(task, name)
        if value is not None:
            return Subject(name.removesuffix("_id"), value, contact_id=task.contact_id)
    if task.contact_id is not None:
        return Subject("contact", task.contact_id, contact_id=task.contact_id)
    return None


def payload(task: schemas.Activity) -> dict[str, Any]:
    """The `data` of activity events: the task as the API shows it, `activity_id` first."""
    data = msgspec.to_builtins(task)
    return {"activity_id": task.id, **{k: v for k, v in data.items() if k != "id"}}


def _label(task: schemas.Activity) -> str:
    due = f", due {task.due_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if task.due_at else ""
    return f"{task.type.title()} “{task.subject}”{due}"


async def _record(
    scope: TenantScope, task: schemas.Activity, kind: str, summary: str, events: list[tuple[str, dict[str, Any]]], changes: Any = None
) -> None:
    """The timeline entry on the linked record and the task's own events (their subject is the task, so the live
    stream shows them only to those who may see it)."""
    subject = _timeline_subject(task)
    if subject is not None:
        await emit(scope, subject, kind, summary, changes)
    await emit(scope, Subject("task", task.id, contact_id=task.contact_id), kind, None if subject else summary, changes, events=events)


async def create_in_transaction(scope: TenantScope, values: dict[str, Any], *, source: str = "manual") -> schemas.Activity:
    """Create a task inside the caller's tenant transaction (rules, recommendations and the one-move call log use it)."""
    await _check_links(scope, values)
    if values.get("lead_id") is not None and values.get("contact_id") is None:
        lead = await fetch("SELECT contact_id FROM lead WHERE id = $1 AND tenant_id = $2", values["lead_id"], scope.tenant_id)
        values["contact_id"] = lead[0]["contact_id"] if lead else None
    now = datetime.now(UTC)
    if values.get("due_at") is not None:
        values["due_at"] = values["due_at"].astimezone(UTC)
    done = bool(values.pop("done", False))
    rows = await Task.insert(
        Task(
            tenant_id=scope.tenant_id,
            done=done,
            done_at=now if done else None,
            source=source,
            created_by=scope.user_id,
            created_at=now,
            updated_at=now,
            **values,
        )
    ).returning(Task.id)
    task = await _read(scope, rows[0]["id"])
    await _record(
        scope, task, "task_planned", f"{_label(task)} planned for {task.owner_name or 'nobody'}", [("activity.created", payload(task))]
    )
    await _tell(scope, task, None)
    return task


async def _tell(scope: TenantScope, task: schemas.Activity, before: schemas.Activity | None) -> None:
    """Its new owner hears of a task someone else gave them; people @mentioned in its notes hear of it."""
    if task.owner_id is not None and task.owner_id != scope.user_id and (before is None or before.owner_id != task.owner_id):
        await notifications.tell(scope.tenant_id, [task.owner_id], "/my-day", f"New task for you: {task.subject}", "task.assigned")
    added = task.notes[len(before.notes) :] if before is not None and task.notes.startswith(before.notes) else task.notes
    if added.strip():
        people = await notifications.mentioned(scope.tenant_id, added, besides=scope.user_id)
        link = f"/leads/{task.lead_id}" if task.lead_id else "/my-day"
        await notifications.tell(
            scope.tenant_id, people, link, f"{scope.actor or 'Someone'} mentioned you: {added.strip()[:300]}", "mention"
        )


async def create_activity(scope: TenantScope, data: schemas.ActivityCreate) -> schemas.Activity:
    """Plan a task (a call, meeting, e-mail, WhatsApp, viewing or to-do); publishes `activity.created`."""
    policy.MANAGE.require(scope)
    values = msgspec.structs.asdict(data)
    if values["owner_id"] is None:
        values["owner_id"] = policy.default_owner(scope)
    values["subject"] = values["subject"].strip()
    async with tenant_transaction(scope.tenant_id):
        return await create_in_transaction(scope, values)


async def _locked(scope: TenantScope, task_id: int) -> schemas.Activity:
    if not 0 < task_id <= schemas.BIGINT_MAX:
        raise _not_found(task_id)
    if not await fetch("SELECT id FROM task WHERE id = $1 AND tenant_id = $2 FOR UPDATE", task_id, scope.tenant_id):
        raise _not_found(task_id)
    return await _read(scope, task_id)


async def update_in_transaction(scope: TenantScope, before: schemas.Activity, values: dict[str, Any]) -> schemas.Activity:
    """Apply a change to a locked task inside the caller's transaction: `activity.updated`, and `activity.completed`
    when it became done."""
    policy.MANAGE.require(scope, before)
    await _check_links(scope, values)
    if values.get("due_at") is not None:
        values["due_at"] = values["due_at"].astimezone(UTC)
    if isinstance(values.get("subject"), str):
        values["subject"] = values["subject"].strip()
    old = msgspec.to_builtins(before)
    changed = {k: v for k, v in values.items() if msgspec.to_builtins(v) != old.get(k)}
    if not changed:
        return before
    now = datetime.now(UTC)
    if "done" in changed:
        changed["done_at"] = now if changed["done"] else None
    await Task.update({**changed, "updated_at": now}).where(Task.id == before.id)  # type: ignore[arg-type,dict-item]
    task = await _read(scope, before.id)
    await _tell(scope, task, before)
    events: list[tuple[str, dict[str, Any]]] = [("activity.updated", {**payload(task), "changed_fields": sorted(changed)})]
    if changed.get("done"):
        events.append(("activity.completed", payload(task)))
        outcome = f": {task.outcome.replace('_', ' ')}" if task.outcome else ""
        summary, kind = f"{_label(task)} done{outcome}", "task_done"
    else:
        summary, kind = f"{_label(task)} changed: " + ", ".join(sorted(changed)), "task_changed"
    await _record(
        scope, task, kind, summary, events, {k: (old.get(k), msgspec.to_builtins(v)) for k, v in changed.items() if k != "done_at"}
    )
    return task


async def update_activity(
    scope: TenantScope, task_id: int, data: schemas.ActivityUpdate, *, if_match: str | None = None
) -> schemas.Activity:
    """Change, complete (`done: true`) or reopen a task; agents change their own. Honours If-Match."""
    policy.MANAGE.require(scope)
    values = {name: value for name in data.__struct_fields__ if (value := getattr(data, name)) is not UNSET}
    async with tenant_transaction(scope.tenant_id):
        before = await _locked(scope, task_id)
        require_current(if_match, before)
        return await update_in_transaction(scope, before, values)


async def delete_activity(scope: TenantScope, task_id: int) -> None:
    """Delete a task planned by mistake (the timeline keeps that it was planned); publishes `activity.deleted`."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        task = await _locked(scope, task_id)
        policy.MANAGE.require(scope, task)
        await Task.delete().where(Task.id == task_id)
        await _record(scope, task, "task_deleted", f"{_label(task)} deleted", [("activity.deleted", payload(task))])


# Score recommendations (app.leads.scoring) → what kind of task, due when. Unknown words make a to-do due today.
_RECOMMENDED: list[tuple[str, str, timedelta]] = [
    ("call within 15 minutes", "call", timedelta(minutes=15)),
    ("discovery call", "call", timedelta(hours=24)),
    ("call", "call", timedelta(hours=4)),
    ("viewing", "viewing", timedelta(days=1)),
    ("phone number", "whatsapp", timedelta(hours=4)),
    ("re-engage", "whatsapp", timedelta(hours=4)),
    ("budget", "call", timedelta(days=1)),
    ("buy, rent or sell", "call", timedelta(days=1)),
]


def recommended_task(recommendation: str, now: datetime) -> tuple[str, datetime]:
    """The type and due time of the task a recommendation becomes ("Call within 15 minutes" → a call due in 15 min)."""
    words = recommendation.lower()
    for phrase, kind, within in _RECOMMENDED:
        if phrase in words:
            return kind, now + within
    return "todo", now + timedelta(hours=8)


async def from_recommendation(scope: TenantScope, data: schemas.FromRecommendation) -> schemas.Activity:
    """A lead's score recommendation as a task for the lead's agent (else the caller), in one click. The same
    recommendation already open on the lead answers that task (a second click makes no duplicate)."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        lead = await fetch(
            "SELECT id, name, agent_id FROM lead WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL", data.lead_id, scope.tenant_id
        )
        if not lead:
            raise unknown_reference("lead_id", data.lead_id, "lead")
        subject = f"{data.recommendation.strip()}: {lead[0]['name']}"[:200]
        existing = await fetch(
            "SELECT id FROM task WHERE tenant_id = $1 AND lead_id = $2 AND subject = $3 AND NOT done LIMIT 1",
            scope.tenant_id,
            data.lead_id,
            subject,
        )
        if existing:
            return await _read(scope, existing[0]["id"])
        owner = lead[0]["agent_id"] if policy.ASSIGN.allows(scope, lead[0]["agent_id"]) else policy.default_owner(scope)
        kind, due = recommended_task(data.recommendation, datetime.now(UTC))
        values = {"type": kind, "subject": subject, "due_at": due, "owner_id": owner, "lead_id": data.lead_id}
        return await create_in_transaction(scope, values, source="recommendation")


async def open_for_lead(scope: TenantScope, lead_id: int, limit: int = 20) -> list[schemas.Activity]:
    """A lead's open tasks, soonest first (its page shows them)."""
    where, args = _where(scope, ActivityFilters(lead_id=lead_id, done=False))
    async with tenant_transaction(scope.tenant_id):
        return await fetch_as(schemas.Activity, f"{SELECT} WHERE {where} ORDER BY t.due_at NULLS LAST, t.id LIMIT {int(limit)}", *args)


async def lead_activity(scope: TenantScope, lead_ids: list[int]) -> dict[int, dict[str, Any]]:
    """For a page of leads: each one's next open task (soonest due) the caller may see, whether it is overdue, and when
    a task on it was last done (the leads list's columns; app.leads asks through `provide_lead_activity`)."""
    if not policy.VIEW.allows(scope):
        return {}
    mine = "" if policy.sees_every_task(scope) else "AND (t.owner_id = $3 OR t.owner_id IS NULL)"
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            f"""SELECT l.id, n.id AS task_id, n.type, n.subject, n.due_at, coalesce(n.due_at < now(), false) AS overdue, d.last_done
                  FROM unnest($2::bigint[]) AS l(id)
                  LEFT JOIN LATERAL (SELECT t.id, t.type, t.subject, t.due_at FROM task t
                                      WHERE t.tenant_id = $1 AND t.lead_id = l.id AND NOT t.done {mine}
                                      ORDER BY t.due_at NULLS LAST, t.id LIMIT 1) n ON true
                  LEFT JOIN LATERAL (SELECT max(t.done_at) AS last_done FROM task t
                                      WHERE t.tenant_id = $1 AND t.lead_id = l.id AND t.done {mine}) d ON true""",
            scope.tenant_id,
            lead_ids,
            *([] if not mine else [scope.user_id or 0]),
        )
    return {
        r["id"]: {
            "next": {"id": r["task_id"], "type": r["type"], "subject": r["subject"], "due_at": r["due_at"]} if r["task_id"] else None,
            "overdue": r["overdue"],
            "last_done": r["last_done"],
        }
        for r in rows
    }


async def tell_due(tenant_id: int) -> int:
    """Tell owners of open tasks coming due within 15 minutes (or due in the last day) once each; how many were told."""
    async with tenant_transaction(tenant_id):
        due = await fetch(
            """UPDATE task SET due_notified_at = now()
                WHERE tenant_id = $1 AND NOT done AND owner_id IS NOT NULL AND due_notified_at IS NULL
                  AND due_at <= now() + interval '15 minutes' AND due_at > now() - interval '1 day'
            RETURNING id, owner_id, subject, lead_id""",
            tenant_id,
        )
        for task in due:
            link = f"/leads/{task['lead_id']}" if task["lead_id"] else "/my-day"
            await notifications.tell(tenant_id, [task["owner_id"]], link, f"Due now: {task['subject']}", "task.due")
    return len(due)
