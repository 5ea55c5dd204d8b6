"""My day: a person's overdue, today's and upcoming tasks, the ranked "call next" queue, the team's overview for
managers, and the one move that logs a call's outcome, completes its task and plans the next step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.activities import policy, schemas
from app.activities.service import SELECT, _locked, _read, create_in_transaction, update_in_transaction
from app.appointments import policy as appointment_policy
from app.appointments import schemas as appointment_schemas
from app.appointments import service as appointments
from app.calls import schemas as call_schemas
from app.calls import service as calls
from app.core.errors import ResourceNotFound
from app.db import TenantScope, fetch, fetch_as, tenant_transaction

QUEUE_SIZE = 20
HIGH_SCORE = 60  # written into call_next's SQL, as the lead_call_next index's predicate says it (keep them the same)
UPCOMING_DAYS = 7
# Outcomes of a call nobody took: the call log records it as failed (no talk time).
UNANSWERED = frozenset({"no_answer", "busy", "wrong_number"})


@dataclass(frozen=True, slots=True)
class QueuedLead:
    """A lead to call next, and why it is in the queue."""

    id: int
    name: str
    phone: str | None
    email: str | None
    hotness_score: int
    temperature: str
    status: str
    source: str
    agent_id: int | None
    last_interaction: datetime | None
    created_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """One person's open, overdue and due-today tasks, for the manager's view of the team."""

    user_id: int
    name: str
    open: int
    overdue: int
    due_today: int
    queue: int


@dataclass(frozen=True, slots=True)
class Day:
    """Everything My day shows."""

    overdue: list[schemas.Activity]
    today: list[schemas.Activity]
    upcoming: list[schemas.Activity]
    queue: list[QueuedLead]
    team: list[AgentLoad] | None
    day_ends: datetime
    # Today's viewings, calls and meetings in the agenda (appointments are the calendar; tasks link to them).
    agenda: list[appointment_schemas.Appointment]


def end_of_day(now: datetime, zone: str) -> datetime:
    """The end of `now`'s day in `zone` (where "due today" stops), in UTC."""
    try:
        tz = ZoneInfo(zone)
    except Exception:  # an unknown zone name reads as UTC, as on every screen
        tz = ZoneInfo("UTC")
    local = now.astimezone(tz)
    return datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)


def _reason(row: dict[str, Any], now: datetime) -> str:
    """Why a lead is in the queue, in a few words: hot or its score, how fresh its interest is, where it came from."""
    parts = ["Hot lead" if row["temperature"] == "hot" else f"Score {row['hotness_score']}"]
    if row["temperature"] == "hot":
        parts[0] += f" ({row['hotness_score']})"
    touched = row["last_interaction"] or row["created_at"]
    age = now - touched
    if age < timedelta(hours=1):
        parts.append(f"interest {max(1, int(age.total_seconds() // 60))} min ago")
    elif age < timedelta(days=2):
        parts.append(f"interest {int(age.total_seconds() // 3600)} h ago")
    else:
        parts.append(f"interest {age.days} days ago")
    parts.append("no next step")
    if row["source"]:
        parts.append(f"from {row['source']}")
    return " · ".join(parts)


async def call_next(scope: TenantScope, owner_id: int | None, limit: int = QUEUE_SIZE) -> list[QueuedLead]:
    """Hot and high-score open leads of `owner_id` (and unassigned ones) with no next step (no open task, no upcoming
    appointment), newest interest first. Runs in the caller's tenant transaction."""
    now = datetime.now(UTC)
    rows = await fetch(
        f"""SELECT l.id, l.name, l.phone, l.email, l.hotness_score, l.temperature, l.status, l.source, l.agent_id,
                   l.last_interaction, l.created_at
              FROM lead l
             WHERE l.tenant_id = $1 AND l.deleted_at IS NULL AND l.status NOT IN ('WON', 'LOST')
               AND (l.temperature = 'hot' OR l.hotness_score >= {HIGH_SCORE})
               AND (l.agent_id = $2 OR l.agent_id IS NULL)
               AND NOT EXISTS (SELECT 1 FROM task t WHERE t.tenant_id = $1 AND t.lead_id = l.id AND NOT t.done)
               AND NOT EXISTS (SELECT 1 FROM appointment a WHERE a.tenant_id = $1 AND a.lead_id = l.id
                                AND a.status IN ('scheduled', 'confirmed') AND a.ends_at > now())
             ORDER BY (l.temperature = 'hot') DESC, coalesce(l.last_interaction, l.created_at) DESC, l.id DESC
             LIMIT {int(limit)}""",
        scope.tenant_id,
        owner_id or 0,
    )
    return [QueuedLead(**row, reason=_reason(row, now)) for row in rows]


async def my_day(scope: TenantScope, zone: str) -> Day:
    """The caller's day: overdue, due today (in their zone) and upcoming tasks (the next week, and undated ones), the
    call-next queue, and for admins and managers the team's load per person."""
    policy.VIEW.require(scope)
    now = datetime.now(UTC)
    day_ends = end_of_day(now, zone)
    me = scope.user_id or 0
    async with tenant_transaction(scope.tenant_id):
        mine = await fetch_as(
            schemas.Activity,
            f"""{SELECT} WHERE t.tenant_id = $1 AND t.owner_id = $2 AND NOT t.done
                 AND (t.due_at IS NULL OR t.due_at < $3)
               ORDER BY t.due_at NULLS LAST, t.id LIMIT 200""",
            scope.tenant_id,
            me,
            day_ends + timedelta(days=UPCOMING_DAYS),
        )
        queue = await call_next(scope, scope.user_id)
        team = await team_load(scope, day_ends) if policy.TEAM.allows(scope) else None
    overdue = [t for t in mine if t.due_at is not None and t.due_at < now]
    today = [t for t in mine if t.due_at is not None and now <= t.due_at < day_ends]
    upcoming = [t for t in mine if t.due_at is None or t.due_at >= day_ends]
    agenda: list[appointment_schemas.Appointment] = []
    if appointment_policy.VIEW.allows(scope) and appointment_policy.can_hold(scope.role or ""):
        booked = await appointments.agenda(scope, now, day_ends, agent_id=me)
        agenda = [a for a in booked if a.status in appointment_schemas.ACTIVE_STATUSES]
    return Day(overdue, today, upcoming, queue, team, day_ends, agenda)


async def team_load(scope: TenantScope, day_ends: datetime) -> list[AgentLoad]:
    """Per person who works tasks: open, overdue and due-today tasks, and how many leads wait in their call-next queue.
    Runs in the caller's tenant transaction."""
    policy.TEAM.require(scope)
    rows = await fetch(
        """SELECT u.id AS user_id, u.full_name AS name,
                  count(t.id) AS open,
                  count(t.id) FILTER (WHERE t.due_at < now()) AS overdue,
                  count(t.id) FILTER (WHERE t.due_at >= now() AND t.due_at < $2) AS due_today,
                  (SELECT count(*) FROM lead l
                    WHERE l.tenant_id = $1 AND l.agent_id = u.id AND l.deleted_at IS NULL AND l.status NOT IN ('WON', 'LOST')
                      AND (l.temperature = 'hot' OR l.hotness_score >= $3)
                      AND NOT EXISTS (SELECT 1 FROM task o WHERE o.tenant_id = $1 AND o.lead_id = l.id AND NOT o.done)) AS queue
             FROM app_user u LEFT JOIN task t ON t.tenant_id = $1 AND t.owner_id = u.id AND NOT t.done
            WHERE u.tenant_id = $1 AND u.is_active AND u.role = ANY($4::text[])
            GROUP BY u.id, u.full_name ORDER BY overdue DESC, u.full_name""",
        scope.tenant_id,
        day_ends,
        HIGH_SCORE,
        sorted(policy.OWNERS - {"support"}),
    )
    return [
        AgentLoad(int(r["user_id"]), r["name"] or "", int(r["open"]), int(r["overdue"]), int(r["due_today"]), int(r["queue"])) for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Logged:
    """What one move recorded: the task done, the call in the call log (for a call with a number), the next task."""

    task: schemas.Activity
    call_id: int | None
    next_task: schemas.Activity | None


async def log_outcome(scope: TenantScope, task_id: int, data: schemas.LogOutcome) -> Logged:
    """In one transaction: log the call (through the call log, so call analytics count it), complete the task with
    its outcome and note, and plan the next step when one is given. Nothing is recorded when any part is refused."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        task = await _locked(scope, task_id)
        policy.MANAGE.require(scope, task)
        return await _log(scope, task, data)


async def log_lead_call(scope: TenantScope, lead_id: int, data: schemas.LogOutcome) -> Logged:
    """A call to a lead of the call-next queue (no task planned yet), in the same one move: the call is logged, a done
    call task records it on the caller's list, and the next step is planned."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        lead = await fetch("SELECT name FROM lead WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL", lead_id, scope.tenant_id)
        if not lead:
            raise ResourceNotFound("Lead not found", details={"lead_id": lead_id})
        values = {
            "type": "call",
            "subject": f"Call {lead[0]['name']}"[:200],
            "due_at": datetime.now(UTC),
            "owner_id": scope.user_id,
            "lead_id": lead_id,
        }
        task = await create_in_transaction(scope, values)
        return await _log(scope, task, data)


async def _log(scope: TenantScope, task: schemas.Activity, data: schemas.LogOutcome) -> Logged:
    call_id = await _log_call(scope, task, data) if task.type == "call" else None
    notes = "\n\n".join(n for n in (task.notes.strip(), data.notes.strip()) if n)
    done = await update_in_transaction(
        scope, task, {"done": True, "outcome": data.outcome, "notes": notes, "call_id": call_id or task.call_id}
    )
    next_task = None
    if data.next_subject.strip() or data.next_due_at is not None:
        subject = data.next_subject.strip() or f"Follow up: {task.lead_name or task.subject}"
        next_task = await create_in_transaction(
            scope,
            {
                "type": data.next_type,
                "subject": subject[:200],
                "due_at": data.next_due_at,
                "owner_id": task.owner_id,
                **{name: getattr(task, name) for name in ("lead_id", "contact_id", "deal_id", "property_id", "ticket_id")},
            },
        )
    return Logged(await _read(scope, done.id), call_id, next_task)


async def _log_call(scope: TenantScope, task: schemas.Activity, data: schemas.LogOutcome) -> int | None:
    """The call of a call task, in the call log: to the lead's number, completed or (nobody answered) failed."""
    if task.lead_id is None:
        return None
    lead = await fetch("SELECT phone FROM lead WHERE id = $1 AND tenant_id = $2", task.lead_id, scope.tenant_id)
    if not lead or not lead[0]["phone"]:
        return None
    call = await calls.create_call(
        scope,
        call_schemas.CallCreate(
            to_number=lead[0]["phone"],
            agent_id=task.owner_id if task.owner_id is not None and task.owner_id == scope.user_id else None,
            metadata=call_schemas.CallMetadata(lead_id=task.lead_id, contact_id=task.contact_id),
            status="failed" if data.outcome in UNANSWERED else "completed",
            disposition=data.outcome,
            notes=data.notes,
        ),
    )
    return call.id
