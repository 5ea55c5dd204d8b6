"""Tickets: rules and queries. Every function takes the caller's `TenantScope`.

Who may do what is declared in app.support.policy; every function here checks it. A ticket's SLA clocks are
recomputed from its pauses at every change (app.support.sla, in the tenant's business calendar); a breach is
published once, by whoever notices it first: the change that meets a clock late, or the minute cron.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import UNSET
from saq import Queue

from app.contacts import schemas as contact_schemas
from app.contacts import service as contacts
from app.core.errors import ResourceNotFound, ValidationFailed, unknown_reference
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.core.versions import require_current
from app.db import TenantScope, bounded_total, fetch, fetch_as, like_pattern, scoped_source, tenant_transaction
from app.events.service import Subject, emit
from app.settings import base_url, current
from app.support import policy, schemas, sla
from app.support.sentiment import analyze
from app.support.tables import Ticket, TicketComment

# What a queue search matches (the expression of the trigram index); see app.db.search_view_sql.
SEARCH_TEXT = "title || ' ' || coalesce(customer_email, '') || ' ' || coalesce(customer_name, '')"
PRIORITY_RANK = "array_position(ARRAY['critical', 'urgent', 'high', 'medium', 'low']::varchar[], t.priority)"
# Each order an index serves; `due` ascending puts tickets whose clocks stand still (null) last, PostgreSQL's default.
SORTS = {"created_at": "t.created_at", "updated_at": "t.updated_at", "priority": PRIORITY_RANK, "due": "t.next_due_at"}
# Targets when a tenant has not set its own (business minutes): first response, resolution.
DEFAULT_TARGETS: dict[str, tuple[int, int]] = {
    "critical": (30, 240),
    "urgent": (60, 480),
    "high": (240, 960),
    "medium": (480, 2400),
    "low": (960, 4800),
}
DEFAULT_HOURS = (time(9), time(17))
MAX_COMMENTS = 500
RETIME_BATCH = 200  # tickets re-timed between two yields to the event loop


_COLUMNS = """t.id, t.tenant_id, t.title, t.description, t.status, t.priority, t.category, t.tags, t.team, t.contact_id,
       t.customer_email, t.customer_name, t.assigned_to, u.full_name, t.created_by, t.sentiment, t.sentiment_score, t.urgency,
       t.first_response_due_at, t.resolution_due_at, t.first_responded_at, t.resolved_at, t.closed_at,
       t.status = 'waiting',
       (t.first_response_breached_at IS NOT NULL OR t.resolution_breached_at IS NOT NULL OR t.next_due_at < now()),
       (SELECT count(*) FROM ticket_comment c WHERE c.tenant_id = t.tenant_id AND c.ticket_id = t.id)::int,
       t.created_at, t.updated_at"""
# Every read of a ticket: its columns in the order of schemas.Ticket, with the assignee's name.
_SELECT = f"SELECT {_COLUMNS} FROM {{source}} t LEFT JOIN app_user u ON u.id = t.assigned_to"


@dataclass(frozen=True, slots=True)
class TicketFilters:
    """Filters of `GET /v2/support/tickets` and of the queue."""

    status: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    assigned_to: int | None = None
    unassigned: bool = False
    customer_id: int | None = None
    category: str | None = None
    team: str | None = None
    q: str | None = None
    breached: bool | None = None
    due_before: datetime | None = None


def parse_list(raw: str | None, field: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """`open,waiting` → ('open', 'waiting'); an unknown value is a validation error; blank is no filter."""
    if not raw or not raw.strip():
        return ()
    values = tuple(dict.fromkeys(v.strip().lower() for v in raw.split(",") if v.strip()))
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise ValidationFailed(
            f"Invalid {field}: {unknown[0] if unknown else raw}",
            details={"field": field, "provided": raw, "expected": f"one or more of: {', '.join(allowed)}"},
            human=f"Choose one of the {field} values",
        )
    return values


def _where(scope: TenantScope, filters: TicketFilters) -> tuple[str, list[Any]]:
    """The WHERE clause of a list ($1 is the tenant) and its arguments; agents see only their own tickets."""
    clauses, args = ["t.tenant_id = $1"], [scope.tenant_id]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if not policy.sees_every_ticket(scope):
        add("(t.assigned_to = ? OR t.created_by = ?)", scope.user_id or 0)
    if filters.status:
        add("t.status = ANY(?::text[])", list(filters.status))
    if filters.priority:
        add("t.priority = ANY(?::text[])", list(filters.priority))
    if filters.assigned_to is not None:
        add("t.assigned_to = ?", filters.assigned_to)
    if filters.unassigned:
        clauses.append("t.assigned_to IS NULL")
    if filters.customer_id is not None:
        add("t.contact_id = ?", filters.customer_id)
    if filters.category:
        add("t.category = ?", filters.category)
    if filters.team:
        add("t.team = ?", filters.team)
    if filters.breached is True:
        clauses.append("(t.first_response_breached_at IS NOT NULL OR t.resolution_breached_at IS NOT NULL OR t.next_due_at < now())")
    elif filters.breached is False:
        clauses.append(
            "t.first_response_breached_at IS NULL AND t.resolution_breached_at IS NULL AND NOT coalesce(t.next_due_at < now(), false)"
        )
    if filters.due_before is not None:
        add("t.next_due_at < ?", filters.due_before)
    return " AND ".join(clauses), args


# A page by due time over several statuses or priorities is merged from one index range per (status, priority) when
# nothing else filters (see _by_due_branches); deeper pages than this use the plain query.
BRANCHED_DEPTH = 1_000


def _by_due_branches(scope: TenantScope, filters: TicketFilters, query: ListQuery, field: str) -> bool:
    """Whether a page is read as one `(tenant, status, priority, next_due_at, id)` index range per status and priority,
    merged (Merge Append): a page ordered by due time filtered only by statuses, priorities (and a due bound). Walking
    the one due-time index and dropping the other statuses and priorities costs as many rows as happen to come first
    (30,000 at 1M tickets); the ranges cost a page each. Other filters have indexes of their own."""
    return (
        field == "due"
        and bool(filters.status or filters.priority)
        and policy.sees_every_ticket(scope)
        and filters.assigned_to is None
        and not filters.unassigned
        and filters.customer_id is None
        and filters.category is None
        and filters.team is None
        and filters.q is None
        and filters.breached is None
        and query.offset + query.limit <= BRANCHED_DEPTH
    )


def _branched_page(filters: TicketFilters, where: str, args: list[Any], order_sql: str, depth: int) -> tuple[str, list[Any]]:
    """The ids and due times of a page (a CTE `page`) merged from one ordered index range per status and priority."""
    args = list(args)
    branches = []
    for status in filters.status or schemas.STATUSES:
        for priority in filters.priority or schemas.PRIORITIES:
            args.extend([status, priority])
            branches.append(
                f"(SELECT t.id, t.next_due_at FROM ticket t WHERE {where} AND t.status = ${len(args) - 1} AND t.priority = ${len(args)} "
                f"ORDER BY {order_sql} LIMIT {depth})"
            )
    union = " UNION ALL ".join(branches)
    return f"WITH page AS (SELECT t.id, t.next_due_at FROM ({union}) t ORDER BY {order_sql} LIMIT {{limit}} OFFSET {{offset}})", args


async def list_tickets(scope: TenantScope, filters: TicketFilters, query: ListQuery) -> Page[schemas.Ticket]:
    """A page of the queue, newest first unless `sort` says otherwise (`due`: the next SLA deadline first). The total
    is exact up to 5,000 matches, PostgreSQL's estimate beyond (`total_is_estimate`)."""
    policy.VIEW.require(scope)
    order = sort_order(query.sort, SORTS, "-created_at")
    where, args = _where(scope, filters)
    async with tenant_transaction(scope.tenant_id):
        source = await scoped_source("ticket", like_pattern(filters.q) if filters.q else None)
        if _by_due_branches(scope, filters, query, order.field):
            order_sql = order.sql(tiebreak="t.id")
            page, page_args = _branched_page(filters, where, args, order_sql, query.offset + query.limit)
            rows = await fetch_as(
                schemas.Ticket,
                page.format(limit=query.limit, offset=query.offset)
                + f" {_SELECT.format(source='ticket')} JOIN page p ON p.id = t.id ORDER BY {order_sql.replace('t.', 'p.')}",
                *page_args,
            )
        else:
            rows = await fetch_as(
                schemas.Ticket,
                f"{_SELECT.format(source=source)} WHERE {where} ORDER BY {order.sql(tiebreak='t.id')} "
                f"LIMIT {query.limit} OFFSET {query.offset}",
                *args,
            )
        # Exact when cheap (a short page, or few matches); a large queue's total is the planner's estimate, flagged.
        total, estimate = await bounded_total(f"{source} t", where, args, query.offset, query.limit, len(rows))
    return page_of(schemas.Ticket, rows, query, total, estimate=estimate)


def _not_found(ticket_id: int) -> ResourceNotFound:
    return ResourceNotFound("Ticket not found", details={"ticket_id": ticket_id})


async def _read(scope: TenantScope, ticket_id: int) -> schemas.Ticket:
    if not 0 < ticket_id <= schemas.BIGINT_MAX:
        raise _not_found(ticket_id)
    rows = await fetch_as(
        schemas.Ticket, f"{_SELECT.format(source='ticket')} WHERE t.tenant_id = $1 AND t.id = $2", scope.tenant_id, ticket_id
    )
    if not rows:
        raise ResourceNotFound("Ticket not found", details={"ticket_id": ticket_id})
    ticket = rows[0]
    if not policy.VIEW.allows(scope, ticket):
        # An agent does not learn that a colleague's ticket exists.
        raise ResourceNotFound("Ticket not found", details={"ticket_id": ticket_id})
    return ticket


async def _comments(scope: TenantScope, ticket_id: int, *, public_only: bool = False) -> list[schemas.TicketComment]:
    only = " AND NOT is_internal" if public_only else ""
    return await fetch_as(
        schemas.TicketComment,
        f"""SELECT id, ticket_id, content, is_internal, author_type, author_id, author_name, sentiment, sentiment_score, created_at,
                   emailed_at
            FROM ticket_comment WHERE tenant_id = $1 AND ticket_id = $2{only} ORDER BY created_at, id LIMIT {MAX_COMMENTS}""",
        scope.tenant_id,
        ticket_id,
    )


async def _detail(scope: TenantScope, ticket_id: int) -> schemas.TicketDetail:
    ticket = await _read(scope, ticket_id)
    comments = await _comments(scope, ticket_id)
    return schemas.TicketDetail(**msgspec.structs.asdict(ticket), comments=comments, customer_url=customer_url(scope.tenant_id, ticket_id))


async def get_ticket(scope: TenantScope, ticket_id: int) -> schemas.TicketDetail:
    """One ticket with its whole conversation (404 for other tenants' ids, and for agents' colleagues' tickets)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _detail(scope, ticket_id)


# The business calendar and the SLA policy.
def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class ScopedTargets:
    """A tenant's policy for a priority in one category and/or team queue (business minutes)."""

    priority: str
    category: str | None
    team: str | None
    first_response: int
    resolution: int

    @property
    def specificity(self) -> int:
        """Category and team beat category, which beats team, which beats the priority alone."""
        return (2 if self.category is not None else 0) + (1 if self.team is not None else 0)

    def matches(self, priority: str, category: str | None, team: str | None) -> bool:
        """Whether the policy times a ticket of this priority, category and team."""
        return (
            self.priority == priority and (self.category is None or self.category == category) and (self.team is None or self.team == team)
        )


@dataclass(frozen=True, slots=True)
class SlaSetup:
    """A tenant's business calendar, targets per priority (business minutes) and its category/team overrides."""

    calendar: sla.Calendar
    targets: dict[str, tuple[int, int]]
    custom: frozenset[str]
    scoped: tuple[ScopedTargets, ...] = ()

    def minutes(self, priority: str, category: str | None = None, team: str | None = None) -> tuple[int, int]:
        """(first response, resolution) of the most specific policy for a ticket of this priority, category and team."""
        found = [p for p in self.scoped if p.matches(priority, category, team)]
        if found:
            best = max(found, key=lambda p: p.specificity)
            return best.first_response, best.resolution
        return self.targets[priority]

    def target(self, priority: str, clock: str, category: str | None = None, team: str | None = None) -> timedelta:
        """The target of a ticket's first-response or resolution clock."""
        first, resolution = self.minutes(priority, category, team)
        return timedelta(minutes=first if clock == "first_response" else resolution)

    def target_of(self, row: dict[str, Any], clock: str) -> timedelta:
        """The target of a stored ticket's clock (its priority, category and team)."""
        return self.target(row["priority"], clock, row.get("category"), row.get("team"))


async def sla_setup(scope: TenantScope) -> SlaSetup:
    """The tenant's calendar (its time zone, hours, holidays) and SLA targets; call inside its transaction."""
    tenant = await fetch("SELECT time_zone FROM tenant WHERE id = $1", scope.tenant_id)
    hours = await fetch(
        "SELECT work_days, opens_at, closes_at, holiday_country, holiday_subdivision FROM business_calendar WHERE tenant_id = $1",
        scope.tenant_id,
    )
    zone = _zone(tenant[0]["time_zone"] if tenant else None)
    if hours:
        row = hours[0]
        calendar = sla.Calendar(
            zone=zone,
            work_days=frozenset(row["work_days"]),
            opens=row["opens_at"],
            closes=row["closes_at"],
            holiday_country=row["holiday_country"],
            holiday_subdivision=row["holiday_subdivision"],
        )
    else:
        calendar = sla.Calendar(zone=zone, opens=DEFAULT_HOURS[0], closes=DEFAULT_HOURS[1])
    rows = await fetch(
        """SELECT priority, category, team, first_response_minutes, resolution_minutes FROM sla_policy WHERE tenant_id = $1
            ORDER BY priority, category NULLS FIRST, team NULLS FIRST LIMIT 1000""",
        scope.tenant_id,
    )
    targets = dict(DEFAULT_TARGETS)
    scoped: list[ScopedTargets] = []
    for row in rows:
        if row["category"] is None and row["team"] is None:
            targets[row["priority"]] = (row["first_response_minutes"], row["resolution_minutes"])
        else:
            scoped.append(
                ScopedTargets(row["priority"], row["category"], row["team"], row["first_response_minutes"], row["resolution_minutes"])
            )
    custom = frozenset(r["priority"] for r in rows if r["category"] is None and r["team"] is None)
    return SlaSetup(calendar, targets, custom, tuple(scoped))


def _pauses(raw: Any) -> list[sla.Pause]:
    """The stored pauses (`[[from, until|null], …]` in ISO 8601) as instants."""
    items = json.loads(raw) if isinstance(raw, str) else (raw or [])
    return [(datetime.fromisoformat(a), datetime.fromisoformat(b) if b else None) for a, b in items]


def _pauses_json(pauses: list[sla.Pause]) -> str:
    return json.dumps([[a.isoformat(), b.isoformat() if b else None] for a, b in pauses])


def sla_columns(setup: SlaSetup, row: dict[str, Any]) -> dict[str, Any]:
    """The due times of a ticket's clocks still running (a met clock keeps the due time it had), and the sooner of
    them (`next_due_at`, the queue's order), from its priority, creation time and pauses."""
    pauses = _pauses(row["sla_pauses"])
    out: dict[str, Any] = {}
    if row["first_responded_at"] is None:
        out["first_response_due_at"] = sla.due_at(setup.calendar, row["created_at"], setup.target_of(row, "first_response"), pauses)
    if row["resolved_at"] is None:
        out["resolution_due_at"] = sla.due_at(setup.calendar, row["created_at"], setup.target_of(row, "resolution"), pauses)
    running = [out.get("first_response_due_at"), out.get("resolution_due_at")]
    out["next_due_at"] = min((d for d in running if d is not None), default=None)
    return out


def status_changes(before: dict[str, Any], status: str, now: datetime) -> dict[str, Any]:
    """What moving a ticket to `status` changes besides its status: the pauses of its SLA clocks (they stand still
    while waiting, resolved or closed), and when it was resolved and closed (cleared when it reopens)."""
    changes: dict[str, Any] = {"status": status}
    pauses = _pauses(before["sla_pauses"])
    was_paused = before["status"] in schemas.PAUSED_STATUSES
    paused = status in schemas.PAUSED_STATUSES
    if paused and not was_paused:
        pauses.append((now, None))
    elif was_paused and not paused and pauses and pauses[-1][1] is None:
        pauses[-1] = (pauses[-1][0], now)
    changes["sla_pauses"] = _pauses_json(pauses)
    if status in ("resolved", "closed"):
        changes["resolved_at"] = before["resolved_at"] or now
    else:
        changes["resolved_at"] = None
    changes["closed_at"] = (before["closed_at"] or now) if status == "closed" else None
    return changes


# Customers' view: a signed address per ticket (nothing stored; it names the tenant and the ticket).
def _signature(tenant_id: int, ticket_id: int) -> str:
    key = current().secret_key.encode()
    return hmac.new(key, f"ticket-view:{tenant_id}:{ticket_id}".encode(), hashlib.sha256).hexdigest()[:32]


def customer_token(tenant_id: int, ticket_id: int) -> str:
    """The secret part of a ticket's customer address."""
    return f"{tenant_id}-{ticket_id}-{_signature(tenant_id, ticket_id)}"


def customer_url(tenant_id: int, ticket_id: int) -> str:
    """Where the requester reads the public conversation and replies."""
    return f"{base_url()}/support/requests/{customer_token(tenant_id, ticket_id)}"


def read_customer_token(token: str) -> tuple[int, int] | None:
    """(tenant id, ticket id) of a valid customer address, else None."""
    parts = token.split("-")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[0]) > 18 or len(parts[1]) > 18:
        return None
    tenant_id, ticket_id = int(parts[0]), int(parts[1])
    return (tenant_id, ticket_id) if hmac.compare_digest(parts[2], _signature(tenant_id, ticket_id)) else None


# Payloads.
def payload(ticket: schemas.Ticket | schemas.TicketDetail) -> dict[str, Any]:
    """The `data` of ticket events: the ticket as the API shows it (without its conversation)."""
    data = msgspec.to_builtins(ticket)
    for name in ("comments", "customer_url"):
        data.pop(name, None)
    return {"ticket_id": ticket.id, **{k: v for k, v in data.items() if k != "id"}}


def _subject(ticket: schemas.Ticket | dict[str, Any]) -> Subject:
    if isinstance(ticket, dict):
        return Subject("ticket", ticket["id"], contact_id=ticket["contact_id"])
    return Subject("ticket", ticket.id, contact_id=ticket.customer_id)


async def _check_assignee(scope: TenantScope, user_id: int | None) -> None:
    """The assignee is an active person of the tenant who works tickets (not finance)."""
    if user_id is None:
        return
    rows = (
        await fetch("SELECT role FROM app_user WHERE id = $1 AND tenant_id = $2 AND is_active", user_id, scope.tenant_id)
        if user_id <= schemas.BIGINT_MAX
        else []
    )
    if not rows or not policy.can_be_assigned(rows[0]["role"]):
        raise ValidationFailed(
            "Invalid assigned_to: no active admin, manager, support person or agent with this id in your team",
            details={
                "field": "assigned_to",
                "provided": user_id,
                "expected": "the id of an active person who works tickets",
                "reason": "unknown_reference",
            },
            human="Choose someone who works tickets",
        )


async def _requester(scope: TenantScope, data: schemas.TicketCreate) -> tuple[int | None, str | None, str | None]:
    """The requester's contact, e-mail and name: the contact named, or the one with the e-mail given (created when
    there is none)."""
    if data.customer_id is not None:
        rows = (
            await fetch("SELECT id, name, email FROM contact WHERE id = $1 AND tenant_id = $2", data.customer_id, scope.tenant_id)
            if data.customer_id <= schemas.BIGINT_MAX
            else []
        )
        if not rows:
            raise unknown_reference("customer_id", data.customer_id, "contact")
        return rows[0]["id"], data.customer_email or rows[0]["email"], data.customer_name or rows[0]["name"]
    if data.customer_email is None:
        return None, None, data.customer_name
    email = data.customer_email.strip()
    rows = await fetch("SELECT id, name FROM contact WHERE tenant_id = $1 AND lower(email) = lower($2)", scope.tenant_id, email)
    if rows:
        return rows[0]["id"], email, data.customer_name or rows[0]["name"]
    name = (data.customer_name or email.split("@")[0]).strip()
    contact = await contacts.create_contact(scope, contact_schemas.ContactCreate(name=name, email=email))
    return contact.id, email, data.customer_name


async def create_ticket(scope: TenantScope, data: schemas.TicketCreate) -> schemas.TicketDetail:
    """Open a ticket: link or create its requester's contact, read the description's sentiment, start its SLA clocks
    in business hours. Publishes `ticket.created`."""
    policy.CREATE.require(scope)
    if data.assigned_to is not None and data.assigned_to != scope.user_id:
        policy.ASSIGN.require(scope)
    mood = analyze(f"{data.title}. {data.description}", "support_ticket")
    async with tenant_transaction(scope.tenant_id):
        await _check_assignee(scope, data.assigned_to)
        contact_id, email, name = await _requester(scope, data)
        setup = await sla_setup(scope)
        now = datetime.now(UTC)
        row: dict[str, Any] = {
            "created_at": now,
            "priority": data.priority,
            "category": data.category.strip(),
            "team": data.team.strip(),
            "sla_pauses": "[]",
            "first_responded_at": None,
            "resolved_at": None,
        }
        inserted = await Ticket.insert(
            Ticket(
                tenant_id=scope.tenant_id,
                title=data.title.strip(),
                description=data.description,
                priority=data.priority,
                category=data.category.strip(),
                tags=sorted({t.strip() for t in data.tags} - {""}),
                team=data.team.strip(),
                contact_id=contact_id,
                customer_email=email,
                customer_name=name,
                assigned_to=data.assigned_to,
                created_by=scope.user_id,
                sentiment=mood.sentiment,
                sentiment_score=mood.score,
                urgency=mood.urgency,
                created_at=now,
                updated_at=now,
                **sla_columns(setup, row),
            )
        ).returning(Ticket.id)
        ticket = await _detail(scope, inserted[0]["id"])
        await emit(scope, _subject(ticket), "created", f"Ticket opened: {ticket.title}", events=[("ticket.created", payload(ticket))])
        return ticket


async def _locked(scope: TenantScope, ticket_id: int) -> dict[str, Any]:
    if not 0 < ticket_id <= schemas.BIGINT_MAX:
        raise _not_found(ticket_id)
    rows = await fetch("SELECT * FROM ticket WHERE id = $1 AND tenant_id = $2 FOR UPDATE", ticket_id, scope.tenant_id)
    if not rows or not policy.VIEW.allows(scope, rows[0]):
        raise ResourceNotFound("Ticket not found", details={"ticket_id": ticket_id})
    return rows[0]


async def _breaches(before: dict[str, Any], after: dict[str, Any], now: datetime) -> list[tuple[str, datetime]]:
    """Clocks met late by this change that nobody flagged yet: flag them (so `ticket.sla_breached` is said once);
    each as (clock, when it was due)."""
    late: list[tuple[str, datetime]] = []
    for clock, met in (("first_response", "first_responded_at"), ("resolution", "resolved_at")):
        due = before[f"{clock}_due_at"]
        if before[met] is None and after.get(met) is not None and due is not None and due < now and before[f"{clock}_breached_at"] is None:
            late.append((clock, due))
    if late:
        await Ticket.update({f"{clock}_breached_at": now for clock, _ in late}).where(Ticket.id == before["id"])  # type: ignore[arg-type]
    return late


def breach_events(ticket: schemas.Ticket, late: list[tuple[str, datetime]]) -> list[tuple[str, dict[str, Any]]]:
    """`ticket.sla_breached` for each late clock: the ticket, which clock (`sla`) and when it was due."""
    return [("ticket.sla_breached", {**payload(ticket), "sla": clock, "due_at": due}) for clock, due in late]


async def _apply(scope: TenantScope, before: dict[str, Any], changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Write `changes` (with the status's consequences and recomputed due times); the columns that changed."""
    if "status" in changes and changes["status"] != before["status"]:
        changes = {**changes, **status_changes(before, changes["status"], now)}
    changed = {k: v for k, v in changes.items() if before.get(k) != v}
    if not changed:
        return {}
    after = {**before, **changed}
    setup = await sla_setup(scope)
    clocks = sla_columns(setup, after)
    changed.update({k: v for k, v in clocks.items() if before.get(k) != v})
    await Ticket.update({**changed, "updated_at": now}).where(Ticket.id == before["id"])  # type: ignore[arg-type,dict-item]
    return changed


def _visible_changes(before: dict[str, Any], changed: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    hidden = {"sla_pauses", "next_due_at", "first_response_due_at", "resolution_due_at", "updated_at"}
    return {k: (before.get(k), v) for k, v in changed.items() if k not in hidden}


def _summary(changes: dict[str, tuple[Any, Any]]) -> str:
    words = {"assigned_to": "assignee", "contact_id": "requester"}
    if set(changes) == {"status"}:
        return f"Status: {changes['status'][0]} → {changes['status'][1]}"
    return "Changed " + ", ".join(words.get(k, k).replace("_", " ") for k in sorted(changes))


async def update_ticket(
    scope: TenantScope, ticket_id: int, data: schemas.TicketUpdate, *, if_match: str | None = None
) -> schemas.TicketDetail:
    """Change a ticket (status, priority, assignee…); its SLA clocks follow. Publishes `ticket.updated` (with
    `changed_fields`) and `ticket.sla_breached` when resolving it late."""
    policy.WORK.require(scope)
    values = {name: value for name in data.__struct_fields__ if (value := getattr(data, name)) is not UNSET}
    if "assigned_to" in values and values["assigned_to"] != scope.user_id:
        policy.ASSIGN.require(scope)
    async with tenant_transaction(scope.tenant_id):
        before = await _locked(scope, ticket_id)
        policy.WORK.require(scope, before)
        if if_match:
            require_current(if_match, await _detail(scope, ticket_id))
        if "assigned_to" in values and values["assigned_to"] != before["assigned_to"]:
            policy.ASSIGN.require(scope)
            await _check_assignee(scope, values["assigned_to"])
        if "customer_id" in values:
            customer = values.pop("customer_id")
            if customer is not None and not (
                customer <= schemas.BIGINT_MAX
                and await fetch("SELECT 1 FROM contact WHERE id = $1 AND tenant_id = $2", customer, scope.tenant_id)
            ):
                raise unknown_reference("customer_id", customer, "contact")
            values["contact_id"] = customer
        for name in ("title", "category", "team"):
            if name in values:
                values[name] = values[name].strip()
        if "tags" in values:
            values["tags"] = sorted({t.strip() for t in values["tags"]} - {""})
        now = datetime.now(UTC)
        changed = await _apply(scope, before, values, now)
        if not changed:
            return await _detail(scope, ticket_id)
        late = await _breaches(before, {**before, **changed}, now)
        ticket = await _detail(scope, ticket_id)
        events = breach_events(ticket, late)
        visible = _visible_changes(before, changed)
        updated = {**payload(ticket), "changed_fields": sorted(visible), "changed_by": scope.user_id}
        await emit(scope, _subject(ticket), "updated", _summary(visible), visible, events=[("ticket.updated", updated), *events])
        return ticket


async def bulk_assign(scope: TenantScope, data: schemas.BulkAssign) -> schemas.BulkAssigned:
    """Give several tickets to one person (or nobody); each given ticket publishes `ticket.updated`."""
    policy.ASSIGN.require(scope)
    ids = [i for i in dict.fromkeys(data.ticket_ids) if i <= schemas.BIGINT_MAX]
    done: list[int] = []
    async with tenant_transaction(scope.tenant_id):
        await _check_assignee(scope, data.assigned_to)
        found = {
            r["id"] for r in await fetch("SELECT id FROM ticket WHERE tenant_id = $1 AND id = ANY($2::bigint[])", scope.tenant_id, ids)
        }
        missing = [i for i in data.ticket_ids if i not in found]
        if missing:
            raise ValidationFailed(
                f"Invalid ticket_ids: no such ticket in your tenant: {missing[0]}",
                details={"field": "ticket_ids", "provided": missing[0], "expected": "ids of your tickets", "reason": "unknown_reference"},
                human="Some of the chosen tickets no longer exist",
            )
        now = datetime.now(UTC)
        for ticket_id in sorted(found):
            before = await _locked(scope, ticket_id)
            changed = await _apply(scope, before, {"assigned_to": data.assigned_to}, now)
            if not changed:
                continue
            done.append(ticket_id)
            ticket = await _read(scope, ticket_id)
            visible = _visible_changes(before, changed)
            updated = {**payload(ticket), "changed_fields": sorted(visible), "changed_by": scope.user_id}
            await emit(scope, _subject(ticket), "updated", _summary(visible), visible, events=[("ticket.updated", updated)])
    return schemas.BulkAssigned(assigned=len(done), ticket_ids=done)


async def _author_name(scope: TenantScope) -> str:
    if scope.user_id is None:
        return scope.actor or "Integration"
    rows = await fetch("SELECT full_name FROM app_user WHERE id = $1", scope.user_id)
    return rows[0]["full_name"] if rows else ""


async def _add_comment(
    scope: TenantScope, before: dict[str, Any], content: str, *, internal: bool, from_customer: bool, author_name: str
) -> schemas.TicketComment:
    """Write a comment and what it does to the ticket: the team's first public reply meets the first-response
    clock; a customer's reply reopens a waiting, resolved or closed ticket. Publishes `ticket.comment_added`, and
    `ticket.updated` when the ticket changed."""
    now = datetime.now(UTC)
    mood = analyze(content, "support_ticket") if from_customer else None
    inserted = await TicketComment.insert(
        TicketComment(
            tenant_id=scope.tenant_id,
            ticket_id=before["id"],
            content=content,
            is_internal=internal and not from_customer,
            author_type="customer" if from_customer else "staff",
            author_id=None if from_customer else scope.user_id,
            author_name=author_name,
            sentiment=mood.sentiment if mood else None,
            sentiment_score=mood.score if mood else None,
            created_at=now,
        )
    ).returning(TicketComment.id)
    changes: dict[str, Any] = {}
    if from_customer:
        changes["last_customer_reply_at"] = now
        changes.update({"sentiment": mood.sentiment, "sentiment_score": mood.score, "urgency": mood.urgency} if mood else {})
        if before["status"] in schemas.PAUSED_STATUSES:
            changes["status"] = "open"
    elif not internal and before["first_responded_at"] is None:
        changes["first_responded_at"] = now
    changed = await _apply(scope, before, changes, now) if changes else {}
    late = await _breaches(before, {**before, **changed}, now)
    comment = next(c for c in await _comments(scope, before["id"]) if c.id == inserted[0]["id"])
    ticket = await _read(scope, before["id"])
    events = breach_events(ticket, late)
    visible = _visible_changes(before, changed)
    added = {"ticket_id": ticket.id, "assigned_to": ticket.assigned_to, "created_by": ticket.created_by, **msgspec.to_builtins(comment)}
    published: list[tuple[str, dict[str, Any]]] = [("ticket.comment_added", added)]
    if visible:
        published.append(("ticket.updated", {**payload(ticket), "changed_fields": sorted(visible), "changed_by": scope.user_id}))
    kind = "customer_reply" if from_customer else "internal_note" if internal else "public_reply"
    words = {"customer_reply": "Customer replied", "internal_note": "Internal note added", "public_reply": "Replied to the customer"}
    summary = words[kind] + (" (reopened)" if changed.get("status") == "open" else "")
    await emit(scope, _subject(ticket), kind, summary, visible, events=[*published, *events])
    return comment


async def add_comment(scope: TenantScope, ticket_id: int, data: schemas.CommentCreate, queue: Queue | None = None) -> schemas.TicketComment:
    """A public reply or an internal note by the team, or (`from_customer`) the customer's reply passed on by an
    integration. A public reply by the team is e-mailed to the requester by a job (when SMTP is configured and a
    queue is given), after the reply is committed."""
    from app.support.reply_mail import email_public_reply  # imported here: the job's module uses this one

    policy.WORK.require(scope)
    async with tenant_transaction(scope.tenant_id):
        before = await _locked(scope, ticket_id)
        policy.WORK.require(scope, before)
        if data.from_customer:
            name = before["customer_name"] or before["customer_email"] or "Customer"
        else:
            name = await _author_name(scope)
        comment = await _add_comment(
            scope, before, data.content.strip(), internal=data.is_internal, from_customer=data.from_customer, author_name=name
        )
    mailed = not comment.is_internal and comment.author_type == "staff" and before["customer_email"]
    if mailed and queue is not None and current().smtp_url:
        await email_public_reply.enqueue(queue, tenant_id=scope.tenant_id, comment_id=comment.id)
    return comment


# What the requester sees.
async def customer_view(scope: TenantScope, ticket_id: int) -> schemas.CustomerView:
    """The ticket as its requester sees it: the public conversation only (no internal note, assignee or SLA)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _customer_view(scope, ticket_id)


async def _customer_view(scope: TenantScope, ticket_id: int) -> schemas.CustomerView:
    ticket = await _read(scope, ticket_id)
    messages = [
        schemas.CustomerMessage(
            id=c.id, content=c.content, from_customer=c.author_type == "customer", author_name=c.author_name, created_at=c.created_at
        )
        for c in await _comments(scope, ticket_id, public_only=True)
    ]
    return schemas.CustomerView(
        id=ticket.id,
        title=ticket.title,
        description=ticket.description,
        status=ticket.status,
        created_at=ticket.created_at,
        messages=messages,
        url=customer_url(scope.tenant_id, ticket_id),
        time_zone=(await fetch("SELECT time_zone FROM tenant WHERE id = $1", scope.tenant_id))[0]["time_zone"],
    )


async def customer_view_by_token(token: str) -> schemas.CustomerView | None:
    """The requester's view at their ticket's signed address (None: not a valid address)."""
    found = read_customer_token(token)
    if found is None:
        return None
    tenant_id, ticket_id = found
    scope = TenantScope.system(tenant_id, "customer view")
    async with tenant_transaction(tenant_id):
        try:
            return await _customer_view(scope, ticket_id)
        except ResourceNotFound:
            return None


async def customer_reply_by_token(token: str, content: str) -> schemas.CustomerView | None:
    """The requester replies at their ticket's address: a public customer message that reopens a waiting, resolved
    or closed ticket (None: not a valid address)."""
    found = read_customer_token(token)
    if found is None:
        return None
    tenant_id, ticket_id = found
    scope = TenantScope.system(tenant_id, "customer")
    text = content.strip()
    if not text or len(text) > 20_000:
        raise ValidationFailed(
            "Invalid content: write a message of at most 20,000 characters",
            details={"field": "content", "expected": "1 to 20000 characters"},
            human="Write your message (at most 20,000 characters)",
        )
    async with tenant_transaction(tenant_id):
        rows = await fetch("SELECT * FROM ticket WHERE id = $1 AND tenant_id = $2 FOR UPDATE", ticket_id, tenant_id)
        if not rows:
            return None
        before = rows[0]
        name = before["customer_name"] or before["customer_email"] or "Customer"
        await _add_comment(scope, before, text, internal=False, from_customer=True, author_name=name)
        return await _customer_view(scope, ticket_id)


# The SLA, explained.
def _clock_of(setup: SlaSetup, row: dict[str, Any], clock: str, now: datetime) -> schemas.SlaClock:
    met_column = "first_responded_at" if clock == "first_response" else "resolved_at"
    target = setup.target_of(row, clock)
    state = sla.clock(setup.calendar, row["created_at"], target, _pauses(row["sla_pauses"]), row[met_column], now)
    breached_at = row[f"{clock}_breached_at"]
    return schemas.SlaClock(
        name=clock,
        target_minutes=int(target.total_seconds() // 60),
        due_at=row[f"{clock}_due_at"] if row[met_column] is not None else state.due_at,
        used_minutes=int(state.used.total_seconds() // 60),
        remaining_minutes=int(state.remaining.total_seconds() // 60),
        paused=state.paused,
        met_at=row[met_column],
        breached=state.breached or breached_at is not None,
        breached_at=breached_at,
    )


def describe_hours(calendar: sla.Calendar) -> str:
    """`Mon-Fri 09:00-17:00` (or the days listed)."""
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    days = sorted(calendar.work_days)
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        span = f"{names[days[0] - 1]}-{names[days[-1] - 1]}"
    else:
        span = ", ".join(names[d - 1] for d in days)
    return f"{span} {calendar.opens:%H:%M}-{calendar.closes:%H:%M}"


async def explain_sla(scope: TenantScope, ticket_id: int) -> schemas.SlaExplanation:
    """How the ticket's SLA is counted now: its policy, the calendar, its pauses and both clocks."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await _read(scope, ticket_id)
        row = (await fetch("SELECT * FROM ticket WHERE id = $1 AND tenant_id = $2", ticket_id, scope.tenant_id))[0]
        setup = await sla_setup(scope)
    now = datetime.now(UTC)
    calendar = setup.calendar
    country = calendar.holiday_country
    return schemas.SlaExplanation(
        priority=row["priority"],
        time_zone=str(calendar.zone),
        business_hours=describe_hours(calendar),
        holidays=f"Public holidays of {country}{'-' + calendar.holiday_subdivision if calendar.holiday_subdivision else ''}"
        if country
        else "No public holidays kept",
        pauses=[[a, b] for a, b in _pauses(row["sla_pauses"])],
        first_response=_clock_of(setup, row, "first_response", now),
        resolution=_clock_of(setup, row, "resolution", now),
    )


# SLA settings.
async def list_sla_policies(scope: TenantScope) -> list[schemas.SlaPolicy]:
    """The targets of each priority (the defaults where the tenant set none), then the category and team overrides."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        setup = await sla_setup(scope)
    base = [
        schemas.SlaPolicy(
            priority=p, first_response_minutes=setup.targets[p][0], resolution_minutes=setup.targets[p][1], is_default=p not in setup.custom
        )
        for p in schemas.PRIORITIES
    ]
    rank = {p: n for n, p in enumerate(schemas.PRIORITIES)}
    overrides = sorted(setup.scoped, key=lambda o: (o.category or "", o.team or "", rank[o.priority]))
    return base + [
        schemas.SlaPolicy(
            priority=o.priority,
            category=o.category,
            team=o.team,
            first_response_minutes=o.first_response,
            resolution_minutes=o.resolution,
            is_default=False,
        )
        for o in overrides
    ]


def _scope_of(data: schemas.SlaPolicyUpdate) -> tuple[str | None, str | None]:
    return (data.category.strip() or None if data.category else None), (data.team.strip() or None if data.team else None)


def _check_targets(priority: str, data: schemas.SlaPolicyUpdate) -> None:
    if priority not in schemas.PRIORITIES:
        raise ResourceNotFound("No such priority", details={"priority": priority})
    for name in ("category", "team"):
        value = getattr(data, name)
        if value is not None and not value.strip():  # blank is not "every category": that would rewrite the base policy
            raise ValidationFailed(
                f"Invalid {name}: blank",
                details={"field": name, "provided": value, "expected": f"a {name} name, or null for every {name}"},
                human=f"Name the {name}, or leave it out",
            )
    if data.resolution_minutes < data.first_response_minutes:
        raise ValidationFailed(
            "Invalid resolution_minutes: must be at least first_response_minutes",
            details={
                "field": "resolution_minutes",
                "provided": data.resolution_minutes,
                "expected": "at least first_response_minutes",
                "reason": "range",
            },
            human="Give at least as long to resolve as to first respond",
        )


async def set_sla_policy(scope: TenantScope, priority: str, data: schemas.SlaPolicyUpdate) -> schemas.SlaPolicySaved:
    """Set a priority's targets, for every ticket or (with `category` and/or `team`) only for those. Tickets opened or
    changed from now on are timed by them; the due times of the open tickets already there stay as they are unless
    `recompute_open` asks to re-time them now. Audited."""
    return (await set_sla_policies(scope, {priority: data}))[0]


async def set_sla_policies(scope: TenantScope, changes: dict[str, schemas.SlaPolicyUpdate]) -> list[schemas.SlaPolicySaved]:
    """Set several priorities' targets at once (the settings screen's table): every one is checked before any is
    written, in one transaction. Each is audited; open tickets are re-timed where `recompute_open` says so."""
    policy.SETTINGS.require(scope)
    for priority, data in changes.items():
        _check_targets(priority, data)
    saved: list[schemas.SlaPolicySaved] = []
    async with tenant_transaction(scope.tenant_id):
        for priority, data in changes.items():
            category, team = _scope_of(data)
            await fetch(
                """INSERT INTO sla_policy (tenant_id, priority, category, team, first_response_minutes, resolution_minutes, updated_at)
                   VALUES ($1, $2, $3, $4, $5, $6, now())
                   ON CONFLICT (tenant_id, priority, coalesce(category, ''), coalesce(team, ''))
                   DO UPDATE SET first_response_minutes = EXCLUDED.first_response_minutes,
                     resolution_minutes = EXCLUDED.resolution_minutes, updated_at = now()""",
                scope.tenant_id,
                priority,
                category,
                team,
                data.first_response_minutes,
                data.resolution_minutes,
            )
            recomputed = await _retime_open(scope, priority, category, team) if data.recompute_open else 0
            await emit(
                scope,
                Subject("sla_policy", 0),
                "support.sla_policy_changed",
                audit={"priority": priority, **msgspec.to_builtins(data), "recomputed_tickets": recomputed},
            )
            saved.append(
                schemas.SlaPolicySaved(
                    priority=priority,
                    category=category,
                    team=team,
                    first_response_minutes=data.first_response_minutes,
                    resolution_minutes=data.resolution_minutes,
                    is_default=False,
                    recomputed_tickets=recomputed,
                )
            )
    return saved


async def delete_sla_policy(
    scope: TenantScope, priority: str, category: str | None, team: str | None, *, recompute_open: bool = False
) -> int:
    """Remove a category/team override (or, without either, a priority's own targets: the defaults apply again); the
    open tickets are re-timed only when asked. The number re-timed. 404 when there is no such policy. Audited."""
    policy.SETTINGS.require(scope)
    if priority not in schemas.PRIORITIES:
        raise ResourceNotFound("No such priority", details={"priority": priority})
    category, team = (category or "").strip() or None, (team or "").strip() or None
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            """DELETE FROM sla_policy WHERE tenant_id = $1 AND priority = $2 AND category IS NOT DISTINCT FROM $3
                AND team IS NOT DISTINCT FROM $4 RETURNING id""",
            scope.tenant_id,
            priority,
            category,
            team,
        )
        if not rows:
            raise ResourceNotFound(
                "No such SLA policy",
                details={"priority": priority, "category": category, "team": team},
                human="That policy is gone already",
            )
        recomputed = await _retime_open(scope, priority, category, team) if recompute_open else 0
        await emit(
            scope,
            Subject("sla_policy", 0),
            "support.sla_policy_deleted",
            audit={"priority": priority, "category": category, "team": team, "recomputed_tickets": recomputed},
        )
    return recomputed


async def _retime_open(scope: TenantScope, priority: str, category: str | None = None, team: str | None = None) -> int:
    """Recompute the running clocks of the tenant's unresolved tickets a policy of `priority` (scoped to `category`
    and/or `team`, when it is) can time, from the policies as they are now (inside the change's transaction); how
    many tickets' due times moved. A clock already met keeps its due time. The work yields to the event loop between
    batches, so a large queue does not hold other requests up."""
    setup = await sla_setup(scope)
    moved = 0
    rows = await fetch(
        """SELECT id, priority, category, team, created_at, sla_pauses, first_responded_at, resolved_at, first_response_due_at,
                  resolution_due_at, next_due_at
             FROM ticket WHERE tenant_id = $1 AND priority = $2 AND resolved_at IS NULL
              AND ($3::text IS NULL OR category = $3) AND ($4::text IS NULL OR team = $4) FOR UPDATE""",
        scope.tenant_id,
        priority,
        category,
        team,
    )
    for n, row in enumerate(rows, start=1):
        changes = sla_columns(setup, row)
        if any(row[k] != v for k, v in changes.items()):
            await Ticket.update(changes).where(Ticket.id == row["id"])  # type: ignore[arg-type]
            moved += 1
        if n % RETIME_BATCH == 0:
            await asyncio.sleep(0)
    return moved


async def get_business_hours(scope: TenantScope) -> schemas.BusinessHours:
    """The desk's business hours and holidays, in the tenant's time zone."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        calendar = (await sla_setup(scope)).calendar
    return schemas.BusinessHours(
        time_zone=str(calendar.zone),
        work_days=sorted(calendar.work_days),
        opens_at=f"{calendar.opens:%H:%M}",
        closes_at=f"{calendar.closes:%H:%M}",
        holiday_country=calendar.holiday_country,
        holiday_subdivision=calendar.holiday_subdivision,
    )


async def set_business_hours(scope: TenantScope, data: schemas.BusinessHoursUpdate) -> schemas.BusinessHours:
    """Set the desk's hours and holidays (tickets opened or changed from now on are timed by them). Audited."""
    policy.SETTINGS.require(scope)
    opens, closes = time.fromisoformat(data.opens_at), time.fromisoformat(data.closes_at)
    if closes <= opens:
        raise ValidationFailed(
            "Invalid closes_at: must be after opens_at",
            details={"field": "closes_at", "provided": data.closes_at, "expected": "a time after opens_at", "reason": "range"},
            human="Close after opening",
        )
    if data.holiday_country is not None:
        if data.holiday_country not in sla.holiday_countries():
            raise ValidationFailed(
                f"Invalid holiday_country: {data.holiday_country}",
                details={
                    "field": "holiday_country",
                    "provided": data.holiday_country,
                    "expected": "an ISO 3166 country code the holidays library knows",
                    "reason": "unknown_reference",
                },
                human="Choose a country",
            )
        try:
            sla.Calendar(zone=ZoneInfo("UTC"), holiday_country=data.holiday_country, holiday_subdivision=data.holiday_subdivision).holiday(
                datetime.now(UTC).date()
            )
        except NotImplementedError:
            raise ValidationFailed(
                f"Invalid holiday_subdivision: {data.holiday_subdivision}",
                details={
                    "field": "holiday_subdivision",
                    "provided": data.holiday_subdivision,
                    "expected": "a subdivision of the country",
                    "reason": "unknown_reference",
                },
                human="Choose one of the country's subdivisions",
            ) from None
    async with tenant_transaction(scope.tenant_id):
        await fetch(
            """INSERT INTO business_calendar (tenant_id, work_days, opens_at, closes_at, holiday_country, holiday_subdivision, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, now())
               ON CONFLICT (tenant_id) DO UPDATE SET work_days = EXCLUDED.work_days, opens_at = EXCLUDED.opens_at,
                 closes_at = EXCLUDED.closes_at, holiday_country = EXCLUDED.holiday_country,
                 holiday_subdivision = EXCLUDED.holiday_subdivision, updated_at = now()""",
            scope.tenant_id,
            sorted(set(data.work_days)),
            opens,
            closes,
            data.holiday_country,
            data.holiday_subdivision if data.holiday_country else None,
        )
        await emit(scope, Subject("business_calendar", 0), "support.business_hours_changed", audit=msgspec.to_builtins(data))
    return await get_business_hours(scope)


# The breach cron.
async def flag_breaches(scope: TenantScope) -> int:
    """Flag every clock of the tenant that ran past its due time unmet and publish `ticket.sla_breached` once for
    each (a clock flagged earlier is never reported again)."""
    found = 0
    async with tenant_transaction(scope.tenant_id):
        for clock, met in (("first_response", "first_responded_at"), ("resolution", "resolved_at")):
            rows = await fetch(
                f"""UPDATE ticket SET {clock}_breached_at = now()
                     WHERE id IN (SELECT id FROM ticket WHERE tenant_id = $1 AND {met} IS NULL AND {clock}_due_at < now()
                                    AND {clock}_breached_at IS NULL ORDER BY {clock}_due_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
                 RETURNING id, contact_id, {clock}_due_at AS due_at""",
                scope.tenant_id,
            )
            for row in rows:
                ticket = await _read(scope, row["id"])
                await emit(
                    scope,
                    _subject(ticket),
                    "sla_breached",
                    f"SLA breached: {clock.replace('_', ' ')} was due {row['due_at'].astimezone(UTC):%Y-%m-%d %H:%M} UTC",
                    events=breach_events(ticket, [(clock, row["due_at"])]),
                )
            found += len(rows)
    return found


async def recompute_sla(scope: TenantScope, ticket_ids: list[int]) -> None:
    """Recompute the due times of these tickets' running clocks from the tenant's current policy and calendar (the
    demo data backdates tickets; a change of policy applies to tickets as they next change)."""
    async with tenant_transaction(scope.tenant_id):
        setup = await sla_setup(scope)
        for row in await fetch(
            "SELECT * FROM ticket WHERE tenant_id = $1 AND id = ANY($2::bigint[]) FOR UPDATE", scope.tenant_id, ticket_ids
        ):
            changes = sla_columns(setup, row)
            if any(row[k] != v for k, v in changes.items()):
                await Ticket.update(changes).where(Ticket.id == row["id"])  # type: ignore[arg-type]
