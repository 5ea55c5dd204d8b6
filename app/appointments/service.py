"""Appointments: rules and queries. Every function takes the caller's `TenantScope`.

Who may do what is declared in app.appointments.policy; every function here checks it. No agent is
booked twice at once: the database's exclusion constraint `appointment_agent_free` decides (so two
concurrent bookings cannot both win) and `_clash` names the appointment in the way.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from asyncpg.exceptions import ExclusionViolationError
from msgspec import UNSET

from app.appointments import calendar, policy, schemas
from app.appointments.tables import Appointment, CalendarFeed
from app.core.errors import Conflict, ResourceNotFound, ValidationFailed, unknown_reference
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.core.validation import parse_list
from app.db import TenantScope, fetch, fetch_as, system_transaction, tenant_transaction
from app.events.service import Subject, emit
from app.leads.events import conversation_url
from app.leads.schemas import LeadAppointment
from app.settings import base_url

SORTS = {"starts_at": "a.starts_at", "created_at": "a.created_at", "updated_at": "a.updated_at"}
# The calendar feed carries a season of appointments: recent ones (so a cancellation reaches the calendar) and upcoming.
FEED_PAST = timedelta(days=90)
FEED_AHEAD = timedelta(days=365)
FEED_LIMIT = 2_000


def _select(args: list[Any]) -> str:
    """Every read of an appointment: its columns in the order of schemas.Appointment, with the lead's and agent's
    names and its .ics address (the base URL is appended to `args`)."""
    args.append(base_url())
    return f"""SELECT a.id, a.tenant_id, a.lead_id, l.name, a.contact_id, a.deal_id, a.property_id, a.agent_id, u.full_name,
                     a.starts_at, a.ends_at, a.location, a.type, a.status, a.notes, a.created_by, a.created_at, a.updated_at,
                     ${len(args)}::text || '/v2/appointments/' || a.id || '/ics'
              FROM appointment a JOIN lead l ON l.id = a.lead_id JOIN app_user u ON u.id = a.agent_id"""


@dataclass(frozen=True, slots=True)
class AppointmentFilters:
    """Filters of `GET /v2/appointments` and of the agenda."""

    lead_id: int | None = None
    agent_id: int | None = None
    contact_id: int | None = None
    deal_id: int | None = None
    property_id: int | None = None
    status: tuple[str, ...] = ()
    type: str | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None


def parse_statuses(raw: str | None) -> tuple[str, ...]:
    """`scheduled,confirmed` → a tuple of statuses; unknown values are a validation error; blank is no filter."""
    return parse_list(raw, schemas.STATUSES)


def _where(scope: TenantScope, filters: AppointmentFilters) -> tuple[str, list[Any]]:
    """The WHERE clause of a list ($1 is the tenant) and its arguments."""
    clauses, args = ["a.tenant_id = $1"], [scope.tenant_id]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    for name in ("lead_id", "agent_id", "contact_id", "deal_id", "property_id", "type"):
        value = getattr(filters, name)
        if value is not None:
            add(f"a.{name} = ?", value)
    if filters.status:
        add("a.status = ANY(?::text[])", list(filters.status))
    if filters.starts_after is not None:
        add("a.starts_at >= ?", filters.starts_after)
    if filters.starts_before is not None:
        add("a.starts_at < ?", filters.starts_before)
    return " AND ".join(clauses), args


async def list_appointments(scope: TenantScope, filters: AppointmentFilters, query: ListQuery) -> Page[schemas.Appointment]:
    """A page of the tenant's appointments, soonest first unless `sort` says otherwise."""
    policy.VIEW.require(scope)
    order = sort_order(query.sort, SORTS, "starts_at")
    where, args = _where(scope, filters)
    async with tenant_transaction(scope.tenant_id):
        total = (await fetch(f"SELECT count(*) AS n FROM appointment a WHERE {where}", *args))[0]["n"]
        select = _select(args)
        rows = await fetch_as(
            schemas.Appointment,
            f"{select} WHERE {where} ORDER BY {order.sql(tiebreak='a.id')} LIMIT {query.limit} OFFSET {query.offset}",
            *args,
        )
    return page_of(schemas.Appointment, rows, query, total)


async def agenda(scope: TenantScope, start: datetime, end: datetime, agent_id: int | None = None) -> list[schemas.Appointment]:
    """Every appointment starting in [start, end), soonest first (the agenda's day or week; at most 500)."""
    policy.VIEW.require(scope)
    where, args = _where(scope, AppointmentFilters(agent_id=agent_id, starts_after=start, starts_before=end))
    async with tenant_transaction(scope.tenant_id):
        return await fetch_as(schemas.Appointment, f"{_select(args)} WHERE {where} ORDER BY a.starts_at, a.id LIMIT 500", *args)


async def _read(scope: TenantScope, appointment_id: int) -> schemas.Appointment:
    args: list[Any] = [scope.tenant_id, appointment_id]
    rows = await fetch_as(schemas.Appointment, f"{_select(args)} WHERE a.tenant_id = $1 AND a.id = $2", *args)
    if not rows:
        raise ResourceNotFound("Appointment not found", details={"appointment_id": appointment_id})
    return rows[0]


async def get_appointment(scope: TenantScope, appointment_id: int) -> schemas.Appointment:
    """One appointment (404 for other tenants' ids)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _read(scope, appointment_id)


async def next_for_lead(tenant_id: int, lead_id: int) -> LeadAppointment | None:
    """The lead's next upcoming active appointment, as the lead's detail shows it (guide §3.1). Runs in the caller's
    tenant transaction (app.leads.service asks it through `provide_next_appointment`)."""
    rows = await fetch(
        """SELECT a.id, a.type, a.starts_at, a.status, a.agent_id, u.full_name
           FROM appointment a JOIN app_user u ON u.id = a.agent_id
           WHERE a.tenant_id = $1 AND a.lead_id = $2 AND a.status = ANY($3::text[]) AND a.ends_at > now()
           ORDER BY a.starts_at, a.id LIMIT 1""",
        tenant_id,
        lead_id,
        list(schemas.ACTIVE_STATUSES),
    )
    if not rows:
        return None
    row = rows[0]
    return LeadAppointment(
        id=row["id"],
        type=row["type"].upper(),
        scheduled_date=row["starts_at"],
        status=row["status"].upper(),
        agent_id=row["agent_id"],
        agent_name=row["full_name"],
    )


def _check_storable(values: dict[str, Any]) -> None:
    """An id past PostgreSQL's bigint names no record."""
    for name in ("lead_id", "agent_id", "contact_id", "deal_id", "property_id"):
        value = values.get(name)
        if isinstance(value, int) and value > schemas.BIGINT_MAX:
            raise unknown_reference(name, value, name.removesuffix("_id"))


async def _check_lead(scope: TenantScope, lead_id: int) -> dict[str, Any]:
    rows = await fetch(
        "SELECT id, name, phone, email, contact_id FROM lead WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL",
        lead_id,
        scope.tenant_id,
    )
    if not rows:
        raise unknown_reference("lead_id", lead_id, "lead")
    return rows[0]


async def _check_agent(scope: TenantScope, agent_id: int) -> None:
    """The agent is an active person of this tenant who holds appointments; agents book only themselves (403)."""
    policy.MANAGE.require(scope, agent_id)
    rows = await fetch("SELECT role FROM app_user WHERE id = $1 AND tenant_id = $2 AND is_active", agent_id, scope.tenant_id)
    if not rows or not policy.can_hold(rows[0]["role"]):
        raise ValidationFailed(
            "Invalid agent_id: no active admin, manager or agent with this id in your team",
            details={"field": "agent_id", "provided": agent_id, "expected": "the id of an active admin, manager or agent"},
            human="Choose someone who holds appointments (an admin, a manager or an agent)",
        )


async def _check_contact(scope: TenantScope, contact_id: int | None) -> None:
    if contact_id is not None and not await fetch("SELECT 1 FROM contact WHERE id = $1 AND tenant_id = $2", contact_id, scope.tenant_id):
        raise unknown_reference("contact_id", contact_id, "contact")


async def _check_deal(scope: TenantScope, deal_id: int | None) -> None:
    if deal_id is not None and not await fetch("SELECT 1 FROM deal WHERE id = $1 AND tenant_id = $2", deal_id, scope.tenant_id):
        raise unknown_reference("deal_id", deal_id, "deal")


async def _check_property(scope: TenantScope, property_id: int | None) -> None:
    if property_id is not None and not await fetch("SELECT 1 FROM property WHERE id = $1 AND tenant_id = $2", property_id, scope.tenant_id):
        raise unknown_reference("property_id", property_id, "property")


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise ValidationFailed(
            "Invalid ends_at: must be after starts_at",
            # `reason`: each value is valid alone; only the pair breaks the rule (no JSON Schema compares two fields).
            details={"field": "ends_at", "provided": ends_at.isoformat(), "expected": "a time after starts_at", "reason": "range"},
            human="End the appointment after it starts",
        )


async def _clash(scope: TenantScope, agent_id: int, starts_at: datetime, ends_at: datetime, exclude_id: int | None) -> Conflict:
    """The 409 for a booking the exclusion constraint refused, naming the appointment in the way (read after the
    refused transaction rolled back: the winner of a race has committed by then)."""
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            """SELECT a.id, a.starts_at, a.ends_at, a.type, a.lead_id, l.name AS lead_name, a.agent_id, u.full_name AS agent_name
               FROM appointment a JOIN lead l ON l.id = a.lead_id JOIN app_user u ON u.id = a.agent_id
               WHERE a.tenant_id = $1 AND a.agent_id = $2 AND a.status = ANY($3::text[]) AND a.id <> $6
                 AND tstzrange(a.starts_at, a.ends_at) && tstzrange($4, $5)
               ORDER BY a.starts_at LIMIT 1""",
            scope.tenant_id,
            agent_id,
            list(schemas.ACTIVE_STATUSES),
            starts_at,
            ends_at,
            exclude_id or 0,
        )
    if not rows:  # the other booking was moved or cancelled meanwhile
        return Conflict(
            "The agent was booked at an overlapping time; try again",
            details={"field": "starts_at", "agent_id": agent_id},
            human="Someone booked this agent at the same time just now. Try again.",
        )
    clash = rows[0]
    span = f"{clash['starts_at'].astimezone(UTC):%Y-%m-%d %H:%M}-{clash['ends_at'].astimezone(UTC):%H:%M} UTC"
    return Conflict(
        f"{clash['agent_name']} is already booked {span}: {clash['type']} with {clash['lead_name']} (appointment {clash['id']})",
        details={
            "field": "starts_at",
            "agent_id": agent_id,
            "clashing_appointment": {
                "id": clash["id"],
                "starts_at": clash["starts_at"],
                "ends_at": clash["ends_at"],
                "type": clash["type"],
                "lead_id": clash["lead_id"],
                "lead_name": clash["lead_name"],
                "agent_name": clash["agent_name"],
            },
        },
    )


def scheduled_payload(appointment: schemas.Appointment, lead: dict[str, Any]) -> dict[str, Any]:
    """The `data` of `lead.appointment_scheduled`: the lead, and its appointment as the lead's detail shows it (§3.1)."""
    return {
        "lead_id": appointment.lead_id,
        "name": lead["name"],
        "phone": lead["phone"],
        "email": lead["email"],
        "appointment": {
            "id": appointment.id,
            "type": appointment.type.upper(),
            "scheduled_date": appointment.starts_at,
            "end_date": appointment.ends_at,
            "status": appointment.status.upper(),
            "agent_id": appointment.agent_id,
            "agent_name": appointment.agent_name,
            "location": appointment.location,
            "contact_id": appointment.contact_id,
            "deal_id": appointment.deal_id,
            "property_id": appointment.property_id,
        },
        "conversation_url": conversation_url(appointment.lead_id),
    }


def _summary(verb: str, appointment: schemas.Appointment) -> str:
    """A timeline line (stored text, so in UTC): `Viewing booked for 2026-12-07 15:00 UTC with Omar Haddad`."""
    return f"{appointment.type.title()} {verb} for {appointment.starts_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC with {appointment.agent_name}"


async def create_appointment(scope: TenantScope, data: schemas.AppointmentCreate) -> schemas.Appointment:
    """Book an appointment; 409 naming the clash when its agent is busy then (checked by the database)."""
    agent_id = data.agent_id if data.agent_id is not None else policy.default_agent(scope)
    if agent_id is None:
        raise ValidationFailed(
            "agent_id is required: these credentials are not a person who holds appointments",
            details={"field": "agent_id", "expected": "the id of an active admin, manager or agent"},
        )
    policy.MANAGE.require(scope, agent_id)
    _check_storable({name: getattr(data, name) for name in data.__struct_fields__})
    _check_times(data.starts_at, data.ends_at)
    try:
        async with tenant_transaction(scope.tenant_id):
            lead = await _check_lead(scope, data.lead_id)
            await _check_agent(scope, agent_id)
            contact_id = data.contact_id if data.contact_id is not None else lead["contact_id"]
            await _check_contact(scope, contact_id)
            await _check_deal(scope, data.deal_id)
            await _check_property(scope, data.property_id)
            now = datetime.now(UTC)
            row = await Appointment.insert(
                Appointment(
                    tenant_id=scope.tenant_id,
                    lead_id=data.lead_id,
                    contact_id=contact_id,
                    deal_id=data.deal_id,
                    property_id=data.property_id,
                    agent_id=agent_id,
                    starts_at=data.starts_at.astimezone(UTC),
                    ends_at=data.ends_at.astimezone(UTC),
                    location=data.location.strip(),
                    type=data.type,
                    status=data.status,
                    notes=data.notes,
                    created_by=scope.user_id,
                    created_at=now,
                    updated_at=now,
                )
            ).returning(Appointment.id)
            appointment = await _read(scope, row[0]["id"])
            events = (
                [("lead.appointment_scheduled", scheduled_payload(appointment, lead))]
                if appointment.status in schemas.ACTIVE_STATUSES
                else []
            )
            await emit(
                scope,
                Subject("lead", data.lead_id, contact_id=lead["contact_id"]),
                "appointment_booked",
                _summary("booked", appointment),
                events=events,
            )
            return appointment
    except ExclusionViolationError:
        raise await _clash(scope, agent_id, data.starts_at, data.ends_at, None) from None


async def update_appointment(scope: TenantScope, appointment_id: int, data: schemas.AppointmentUpdate) -> schemas.Appointment:
    """Change an appointment (reschedule, reassign, confirm, complete, cancel, no-show); 409 naming a clash."""
    policy.MANAGE.require(scope)
    changes = {name: value for name in data.__struct_fields__ if (value := getattr(data, name)) is not UNSET}
    _check_storable(changes)
    try:
        async with tenant_transaction(scope.tenant_id):
            rows = (
                await Appointment.select()
                .where((Appointment.id == appointment_id) & (Appointment.tenant_id == scope.tenant_id))
                .lock_rows("UPDATE")
                .first()
            )
            if rows is None:
                raise ResourceNotFound("Appointment not found", details={"appointment_id": appointment_id})
            before = dict(rows)
            policy.MANAGE.require(scope, before)
            if "agent_id" in changes and changes["agent_id"] != before["agent_id"]:
                await _check_agent(scope, changes["agent_id"])
            if "contact_id" in changes:
                await _check_contact(scope, changes["contact_id"])
            if "deal_id" in changes:
                await _check_deal(scope, changes["deal_id"])
            if "property_id" in changes:
                await _check_property(scope, changes["property_id"])
            for name in ("starts_at", "ends_at"):
                if name in changes:
                    changes[name] = changes[name].astimezone(UTC)
            if "location" in changes:
                changes["location"] = changes["location"].strip()
            starts_at, ends_at = changes.get("starts_at", before["starts_at"]), changes.get("ends_at", before["ends_at"])
            _check_times(starts_at, ends_at)
            changed = {k: v for k, v in changes.items() if before.get(k) != v}
            if not changed:
                return await _read(scope, appointment_id)
            await Appointment.update({**changed, "updated_at": datetime.now(UTC)}).where(Appointment.id == appointment_id)  # type: ignore[arg-type,dict-item]
            appointment = await _read(scope, appointment_id)
            lead = (await fetch("SELECT contact_id FROM lead WHERE id = $1", appointment.lead_id))[0]
            cancelled = changed.get("status") == "cancelled"
            data_out = {**msgspec.to_builtins(appointment), "changed_fields": sorted(changed)}
            events = [("appointment.updated", data_out)] + ([("appointment.cancelled", data_out)] if cancelled else [])
            verb = {"cancelled": "cancelled", "completed": "completed", "no_show": "missed (no-show)", "confirmed": "confirmed"}
            summary = _summary(verb.get(changed.get("status", ""), "changed"), appointment)
            await emit(
                scope,
                Subject("lead", appointment.lead_id, contact_id=lead["contact_id"]),
                f"appointment_{changed.get('status', 'changed')}",
                summary,
                {k: (before.get(k), v) for k, v in changed.items()},
                events=events,
            )
            return appointment
    except ExclusionViolationError:
        raise await _clash(scope, changes.get("agent_id", before["agent_id"]), starts_at, ends_at, appointment_id) from None


async def delete_appointment(scope: TenantScope, appointment_id: int) -> None:
    """Remove an appointment booked by mistake (cancel one that was agreed, so the calendar hears of it)."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        appointment = await _read(scope, appointment_id)
        policy.MANAGE.require(scope, appointment)
        await Appointment.delete().where((Appointment.id == appointment_id) & (Appointment.tenant_id == scope.tenant_id))
        lead = (await fetch("SELECT contact_id FROM lead WHERE id = $1", appointment.lead_id))[0]
        await emit(
            scope,
            Subject("lead", appointment.lead_id, contact_id=lead["contact_id"]),
            "appointment_deleted",
            _summary("deleted", appointment),
            events=[("appointment.deleted", {**msgspec.to_builtins(appointment)})],
        )


async def appointment_ics(scope: TenantScope, appointment_id: int) -> bytes:
    """One appointment as an iCalendar file."""
    appointment = await get_appointment(scope, appointment_id)
    return calendar.to_ics([appointment], name=f"{appointment.type.title()} with {appointment.lead_name}")


# Calendar feeds: a secret address per person. Only its SHA-256 is kept, like sessions' tokens.
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(token: str) -> str:
    """Where a calendar app subscribes."""
    return f"{base_url()}/calendar/{token}.ics"


async def new_feed(scope: TenantScope) -> schemas.CalendarFeed:
    """A new secret feed address for the caller; the old one (if any) stops working at once."""
    policy.FEED.require(scope)
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with tenant_transaction(scope.tenant_id):
        await fetch(
            """INSERT INTO calendar_feed (tenant_id, user_id, token_hash, created_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT (user_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = EXCLUDED.created_at""",
            scope.tenant_id,
            scope.user_id,
            _token_hash(token),
            now,
        )
        await emit(scope, Subject("user", scope.user_id or 0), "calendar_feed.created", audit=True)
    return schemas.CalendarFeed(url=feed_url(token), created_at=now)


async def feed_created_at(scope: TenantScope) -> datetime | None:
    """When the caller's current feed address was made (None: they have none)."""
    policy.FEED.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = await CalendarFeed.select(CalendarFeed.created_at).where(CalendarFeed.user_id == scope.user_id).first()
    return row["created_at"] if row else None


async def revoke_feed(scope: TenantScope) -> None:
    """The caller's feed address stops working."""
    policy.FEED.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await CalendarFeed.delete().where((CalendarFeed.user_id == scope.user_id) & (CalendarFeed.tenant_id == scope.tenant_id))
        await emit(scope, Subject("user", scope.user_id or 0), "calendar_feed.revoked", audit=True)


async def feed_ics(token: str) -> bytes | None:
    """The calendar of the person whose feed token this is (None: no such feed, or they left the team).

    The token names the tenant: found across tenants as atrium_system, on the columns it is granted; the
    appointments are then read in that tenant's own transaction."""
    if not token or len(token) > 100:
        return None
    async with system_transaction() as conn:
        found = await conn.fetchrow("SELECT tenant_id, user_id FROM calendar_feed WHERE token_hash = $1", _token_hash(token))
    if found is None:
        return None
    scope = TenantScope.system(found["tenant_id"], "calendar feed", on_behalf_of=found["user_id"])
    async with tenant_transaction(scope.tenant_id):
        person = await fetch("SELECT full_name, role FROM app_user WHERE id = $1 AND is_active", found["user_id"])
        if not person or not policy.can_hold(person[0]["role"]):
            return None
        now = datetime.now(UTC)
        where, args = _where(
            scope, AppointmentFilters(agent_id=found["user_id"], starts_after=now - FEED_PAST, starts_before=now + FEED_AHEAD)
        )
        rows = await fetch_as(schemas.Appointment, f"{_select(args)} WHERE {where} ORDER BY a.starts_at, a.id LIMIT {FEED_LIMIT}", *args)
    return calendar.to_ics(rows, name=f"Atrium: {person[0]['full_name']}")
