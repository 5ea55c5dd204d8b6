"""Leads: rules and queries. Every function takes the caller's `TenantScope`.

Who may do what is declared in app.leads.policy; every function here checks it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from asyncpg.exceptions import UniqueViolationError
from msgspec import UNSET

from app.accounts.tables import User
from app.core.errors import Conflict, PermissionDenied, ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.core.schemas import checked_money, normalise_phone, phone_search_term
from app.core.versions import require_current
from app.db import TenantScope, bounded_total, fetch, fetch_as, like_pattern, planner_estimate, scoped_source, tenant_transaction
from app.events import notifications
from app.events.schemas import TimelineEntry
from app.events.service import Change, Subject, emit, emit_all, relink_contact
from app.events.service import timeline as read_timeline
from app.leads import events as lead_events
from app.leads import policy, schemas
from app.leads.events import roi_report_url
from app.leads.scoring import score_lead
from app.leads.tables import Lead
from app.piccolo_conf import DB

SORTS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "name": "name",
    "hotness_score": "hotness_score",
    "budget_min": "budget_min",
    "budget_max": "budget_max",
    "last_interaction": "last_interaction",
    "status": "status",
}
# Columns that may be NULL sort their NULLs last either way; the others use the indexes' order.
NULLABLE_SORTS = frozenset({"budget_min", "budget_max", "last_interaction"})
# What searches match (the expression of the lead_search_trgm index); see app.db.search_view_sql.
SEARCH_TEXT = "name || ' ' || coalesce(email, '') || ' ' || coalesce(phone, '')"
# A search sorted by one of these (an index walks them in order) first looks for its page among the first
# SEARCH_WINDOW leads in that order, and asks the trigram index only when the page is not full there (list_leads).
WINDOWED_SORTS = frozenset({"created_at", "hotness_score"})
SEARCH_WINDOW = 5_000
SUMMARY_FIELDS = tuple(schemas.LeadSummary.__struct_fields__)
# list_leads builds LeadSummary positionally from its columns, the conversation URL made last by the database.
# (roi_report_url, after it, has a default and is filled in afterwards.)
assert SUMMARY_FIELDS[-2:] == ("conversation_url", "roi_report_url"), "LeadSummary ends with conversation_url (see list_leads)"


@dataclass(frozen=True, slots=True)
class LeadFilters:
    """Filters of `GET /v2/leads` (names as in the reference guides)."""

    status: tuple[str, ...] = ()
    budget_min: Decimal | None = None
    budget_max: Decimal | None = None
    property_type: str | None = None
    transaction_type: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    language: str | None = None
    temperature: str | None = None
    agent_id: int | None = None
    unassigned: bool = False
    source: str | None = None
    score_min: int | None = None
    score_max: int | None = None
    q: str | None = None
    deleted: bool = False
    ids: tuple[int, ...] = ()
    contact_id: int | None = None
    company_id: int | None = None
    campaign_id: int | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    last_interaction_after: datetime | None = None
    last_interaction_before: datetime | None = None
    has_phone: bool | None = None
    has_email: bool | None = None
    has_overdue_task: bool = False
    no_next_step: bool = False
    purpose: str | None = None
    bedrooms: int | None = None
    location: str | None = None
    tag: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_statuses(raw: str | None) -> tuple[str, ...]:
    """`QUALIFIED` or `qualified,new` → ('QUALIFIED', 'NEW'); unknown values are a validation error."""
    if not raw:
        return ()
    values = tuple(v.strip().upper() for v in raw.split(",") if v.strip())
    unknown = [v for v in values if v not in schemas.STATUSES]
    if unknown or not re.fullmatch(schemas.STATUS_LIST_PATTERN, raw):
        raise ValidationFailed(
            f"Invalid status: {unknown[0] if unknown else raw}",
            details={"field": "status", "provided": raw, "expected": f"one or more of: {', '.join(schemas.STATUSES)}"},
            human="Choose one of the statuses",
        )
    return values


def conversation_url(base_url: str, lead_id: int) -> str:
    """Where a person opens the lead in the browser."""
    return f"{conversation_url_prefix(base_url)}{lead_id}"


def conversation_url_prefix(base_url: str) -> str:
    """Every lead's conversation URL is this followed by its id."""
    return f"{base_url}/leads/"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _decode(row: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if isinstance(row.get(name), str):
            row[name] = json.loads(row[name])
    return row


# The lead's next appointment (guide §3.1), given by the appointments domain when it is installed: it uses leads,
# so leads cannot ask it directly. Called with the lead's tenant and id inside the lead's tenant transaction.
NextAppointment = Callable[[int, int], Awaitable[schemas.LeadAppointment | None]]
_next_appointment: list[NextAppointment] = []


def provide_next_appointment(find: NextAppointment) -> None:
    """Let the domain that keeps appointments fill a lead's `appointment` (app/appointments/domain.py calls this)."""
    _next_appointment[:] = [find]


# The leads list's next-activity, overdue and last-activity columns, given by the domain that keeps tasks (activities)
# when it is installed: {lead id: {"next": task or None, "overdue": bool, "last_done": datetime or None}}, for the
# caller (an agent sees only the tasks they may see). One query for a page of leads.
LeadActivity = Callable[[TenantScope, list[int]], Awaitable[dict[int, dict[str, Any]]]]
_lead_activity: list[LeadActivity] = []


def provide_lead_activity(find: LeadActivity) -> None:
    """Let the domain that keeps tasks say each listed lead's next and last activity (app/activities/domain.py)."""
    _lead_activity[:] = [find]


async def activity_of(scope: TenantScope, lead_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each lead's next task, whether it is overdue, and when a task was last done (empty without the activities domain)."""
    return await _lead_activity[0](scope, lead_ids) if _lead_activity and lead_ids else {}


async def _detail(row: dict[str, Any], base_url: str) -> schemas.Lead:
    _decode(row, "score_factors", "conversation_data", "custom_fields")
    agent_name = None
    if row["agent_id"] is not None:
        agent = await User.select(User.full_name).where((User.id == row["agent_id"]) & (User.tenant_id == row["tenant_id"])).first()
        agent_name = agent["full_name"] if agent else None
    appointment = await _next_appointment[0](row["tenant_id"], row["id"]) if _next_appointment else None
    lead = msgspec.convert(
        {
            **row,
            "agent_name": agent_name,
            "conversation_url": conversation_url(base_url, row["id"]),
            "roi_report_url": roi_report_url(row["id"]),
        },
        schemas.Lead,
    )
    lead.appointment = appointment
    return lead


async def _load(scope: TenantScope, lead_id: int, *, include_deleted: bool = False, for_update: bool = False) -> dict[str, Any]:
    query = Lead.select().where((Lead.id == lead_id) & (Lead.tenant_id == scope.tenant_id))
    if not include_deleted:
        query = query.where(Lead.deleted_at.is_null())
    if for_update:
        query = query.lock_rows("UPDATE")
    row = await query.first()
    if row is None:
        raise ResourceNotFound("Lead not found", details={"lead_id": lead_id})
    return dict(row)


def lead_subject(row: dict[str, Any]) -> Subject:
    """A lead as an event subject: its timeline entries also appear on its contact's."""
    return Subject("lead", row["id"], contact_id=row.get("contact_id"))


async def _check_agent(scope: TenantScope, agent_id: int | None) -> str | None:
    """The agent's name; 422 when the id is not an active user of this tenant who can own leads; agents assign only themselves."""
    if agent_id is None:
        return None
    policy.ASSIGN.require(scope, agent_id)
    user = (
        await User.select(User.full_name, User.role)
        .where((User.id == agent_id) & (User.tenant_id == scope.tenant_id) & (User.is_active == True))  # noqa: E712 - SQL, not Python truth
        .first()
    )
    if user is None or not policy.can_own(user["role"]):
        raise ValidationFailed(
            "Invalid agent_id: no active admin, manager or agent with this id in your team",
            details={
                "field": "agent_id",
                "provided": agent_id,
                "expected": "the id of an active admin, manager or agent",
                "reason": "unknown_reference",  # a well-formed id; whether it names such a person is a fact of the data
            },
            human="Choose someone who works leads (an admin, a manager or an agent)",
        )
    return str(user["full_name"])


async def _check_links(scope: TenantScope, values: dict[str, Any]) -> None:
    """A lead may link only to a contact, a company and a campaign of its own tenant (422 otherwise)."""
    for name, table in (("contact_id", "contact"), ("company_id", "company"), ("campaign_id", "campaign")):
        value = values.get(name)
        if value is not None and not await fetch(f"SELECT 1 FROM {table} WHERE id = $1 AND tenant_id = $2", value, scope.tenant_id):
            raise ValidationFailed(
                f"Invalid {name}: no such {table} in your tenant",
                # `reason`: a well-formed id; whether it names a record of the tenant depends on the data, not the request.
                details={"field": name, "provided": value, "expected": f"the id of one of your {table}s", "reason": "unknown_reference"},
            )


async def _check_duplicates(scope: TenantScope, phone: str | None, email: str | None, exclude_id: int | None = None) -> None:
    for field_name, value, condition in (("phone", phone, "phone = $2"), ("email", email, "lower(email) = lower($2)")):
        if value is None:
            continue
        rows = await fetch(
            f"SELECT id, name FROM lead WHERE tenant_id = $1 AND {condition} AND deleted_at IS NULL AND id <> $3 LIMIT 1",
            scope.tenant_id,
            value,
            exclude_id or 0,
        )
        if rows:
            raise Conflict(
                f"A lead with this {field_name} already exists: #{rows[0]['id']} {rows[0]['name']}",
                details={"field": field_name, "provided": value, "existing_lead_id": rows[0]["id"]},
            )


async def _guarded(scope: TenantScope, values: dict[str, Any], query: Any, exclude_id: int | None = None) -> Any:
    """Run a write in a savepoint, so a lost race on a unique phone/e-mail becomes a 409, not a broken transaction."""
    txn = DB.current_transaction.get()
    assert txn is not None, "writes run inside tenant_transaction"
    try:
        async with txn.connection.transaction():  # a savepoint inside the open transaction
            return await query
    except UniqueViolationError:
        await _check_duplicates(scope, values.get("phone"), values.get("email"), exclude_id=exclude_id)
        raise Conflict("Another lead with this phone or e-mail was saved at the same moment", details={"field": "phone"}) from None


LABELS = {"budget_min": "Budget minimum", "budget_max": "Budget maximum", "bedrooms_min": "Bedrooms minimum"}


def check_ranges(values: dict[str, Any]) -> None:
    """Amounts, ranges and times a lead may hold (shared with the import's dry run)."""
    touched = values.get("last_interaction")
    if isinstance(touched, datetime) and touched > datetime.now(UTC) + timedelta(minutes=5):
        raise ValidationFailed(
            "Invalid last_interaction: it is in the future",
            # `reason`: the value is well-formed; only the clock at the server rules it out.
            details={"field": "last_interaction", "provided": touched.isoformat(), "expected": "a time in the past", "reason": "future"},
            human="The last interaction cannot be in the future",
        )
    for name in ("budget_min", "budget_max"):
        checked_money(name, values.get(name), human=f"{LABELS[name]} must be a positive amount with at most 2 decimals")
    for low, high in (("budget_min", "budget_max"), ("bedrooms_min", "bedrooms_max")):
        a, b = values.get(low), values.get(high)
        if a is not None and b is not None and a > b:
            raise ValidationFailed(
                f"Invalid {low}: must not exceed {high}",
                # `reason`: each value is valid alone; only the pair breaks the rule (no JSON Schema compares two fields).
                details={"field": low, "provided": _jsonable(a), "expected": f"at most {high} ({_jsonable(b)})", "reason": "range"},
                human=f"{LABELS[low]} cannot exceed the maximum",
            )


def _apply_score(values: dict[str, Any]) -> dict[str, Any]:
    result = score_lead(values)
    return {
        "hotness_score": result.score,
        "temperature": result.temperature,
        "score_factors": result.factors,
        "score_confidence": result.confidence,
    }


def _set_fields(data: schemas.LeadCreate | schemas.LeadUpdate) -> dict[str, Any]:
    values = {name: getattr(data, name) for name in data.__struct_fields__ if getattr(data, name) is not UNSET}
    if values.get("phone") is not None:
        values["phone"] = normalise_phone(values["phone"])
    if values.get("email") is not None:
        values["email"] = values["email"].strip().lower()
    if "name" in values:
        values["name"] = values["name"].strip()
    return values


async def create_lead(scope: TenantScope, data: schemas.LeadCreate, base_url: str) -> schemas.Lead:
    """Create a lead, score it and start its timeline. A live lead with the same phone or e-mail → 409."""
    policy.CREATE.require(scope)
    values = _set_fields(data)
    if "agent_id" not in values and (assignee := policy.default_assignee(scope)) is not None:
        values["agent_id"] = assignee
    check_ranges(values)
    now = datetime.now(UTC)
    async with tenant_transaction(scope.tenant_id):
        await _check_agent(scope, values.get("agent_id"))
        await _check_links(scope, values)
        await _check_duplicates(scope, values.get("phone"), values.get("email"))
        values.update(_apply_score({**values, "status": data.status}))
        insert = Lead.insert(Lead(tenant_id=scope.tenant_id, created_at=now, updated_at=now, **values)).returning(*Lead.all_columns())
        rows = await _guarded(scope, values, insert)
        row = dict(rows[0])
        subject = lead_subject(row)
        await emit(
            scope,
            subject,
            "created",
            f"Lead created from {row['source']}",
            {"status": (None, row["status"])},
            events=lead_events.of_change(None, row),
        )
        if row["agent_id"] is not None:
            await emit(scope, subject, "assigned", "Assigned", {"agent_id": (None, row["agent_id"])})
        if row["notes"]:
            await emit(scope, subject, "note_added", row["notes"])
        await emit(
            scope,
            subject,
            "scored",
            f"Scored {row['hotness_score']} ({row['temperature']})",
            {"hotness_score": (None, row["hotness_score"])},
        )
        return await _detail(row, base_url)


async def update_lead(
    scope: TenantScope, lead_id: int, data: schemas.LeadUpdate, base_url: str, *, if_match: str | None = None
) -> schemas.Lead:
    """Change a lead; every change, status move, note and assignment lands on the timeline, and it is rescored.

    `if_match` (an ETag) is compared with the row locked, so two writers cannot both pass it.
    """
    async with tenant_transaction(scope.tenant_id):
        current = _decode(await _load(scope, lead_id, for_update=True), "score_factors", "conversation_data", "custom_fields")
        policy.EDIT.require(scope, current)
        if if_match:
            require_current(if_match, await _detail(dict(current), base_url))
        values = _set_fields(data)
        note = values.pop("notes", None)
        changed = {k: v for k, v in values.items() if current.get(k) != v}
        check_ranges({**current, **changed})
        if "agent_id" in changed:
            await _check_agent(scope, changed["agent_id"])
        await _check_links(scope, changed)
        if "phone" in changed or "email" in changed:
            await _check_duplicates(scope, changed.get("phone"), changed.get("email"), exclude_id=lead_id)
        if note is not None and note != current["notes"]:
            changed["notes"] = note
        if not changed:
            return await _detail(current, base_url)
        merged = {**current, **changed}
        scored = _apply_score(merged)
        update = {**changed, **scored, "updated_at": datetime.now(UTC)}
        if "last_interaction" in changed:
            update["ghost_reminder_sent"] = False  # a new interaction: a later silence is reported again
        await _guarded(
            scope, {**current, **changed}, Lead.update({getattr(Lead, k): v for k, v in update.items()}).where(Lead.id == lead_id), lead_id
        )
        after = {**current, **update}
        subject = lead_subject(after)
        if "contact_id" in changed:
            await relink_contact(scope, subject)
        published = lead_events.of_change(current, after)
        if "status" in changed:
            await emit(
                scope,
                subject,
                "status_changed",
                f"Status {current['status']} → {changed['status']}",
                {"status": (current["status"], changed["status"])},
            )
        if "agent_id" in changed:
            summary = "Assigned" if changed["agent_id"] is not None else "Unassigned"
            await emit(scope, subject, "assigned", summary, {"agent_id": (current["agent_id"], changed["agent_id"])})
        if "notes" in changed:
            await emit(scope, subject, "note_added", changed["notes"])
            people = await notifications.mentioned(scope.tenant_id, changed["notes"], besides=scope.user_id)
            said = f"{scope.actor or 'Someone'} mentioned you on {after['name']}: {changed['notes'][:300]}"
            await notifications.tell(scope.tenant_id, people, f"/leads/{lead_id}", said, "mention")
        other = {k: (current.get(k), v) for k, v in changed.items() if k not in ("status", "agent_id", "notes")}
        if other:
            await emit(scope, subject, "updated", "Changed " + ", ".join(sorted(other)), other)
        if scored["hotness_score"] != current["hotness_score"] or scored["temperature"] != current["temperature"]:
            await emit(
                scope,
                subject,
                "scored",
                f"Score {current['hotness_score']} → {scored['hotness_score']} ({scored['temperature']})",
                {
                    "hotness_score": (current["hotness_score"], scored["hotness_score"]),
                    "temperature": (current["temperature"], scored["temperature"]),
                },
            )
        await emit(scope, subject, "updated", events=published)
        return await _detail(await _load(scope, lead_id), base_url)


async def get_lead(scope: TenantScope, lead_id: int, base_url: str) -> schemas.Lead:
    """One live lead (404 for deleted leads and other tenants' ids)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _detail(await _load(scope, lead_id), base_url)


async def delete_lead(scope: TenantScope, lead_id: int) -> None:
    """Soft-delete: the lead disappears from lists and frees its phone/e-mail; an admin can restore it."""
    policy.DELETE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = await _load(scope, lead_id, for_update=True)
        await Lead.update({Lead.deleted_at: datetime.now(UTC)}).where(Lead.id == lead_id)
        await emit(scope, lead_subject(row), "deleted", "Lead deleted", audit=True, events=[("lead.deleted", {"lead_id": lead_id})])


async def restore_lead(scope: TenantScope, lead_id: int, base_url: str) -> schemas.Lead:
    """Bring a soft-deleted lead back (409 if its phone or e-mail was taken meanwhile)."""
    policy.RESTORE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = await _load(scope, lead_id, include_deleted=True, for_update=True)
        if row["deleted_at"] is None:
            return await _detail(row, base_url)
        await _check_duplicates(scope, row["phone"], row["email"], exclude_id=lead_id)
        await _guarded(
            scope, row, Lead.update({Lead.deleted_at: None, Lead.updated_at: datetime.now(UTC)}).where(Lead.id == lead_id), lead_id
        )
        restored = {**row, "deleted_at": None}
        published = [("lead.restored", lead_events.payload(restored))]
        await emit(scope, lead_subject(row), "restored", "Lead restored", audit=True, events=published)
        return await _detail(await _load(scope, lead_id), base_url)


async def score(scope: TenantScope, lead_id: int) -> schemas.LeadScore:
    """Score a lead now, store the result and explain it (not for support and finance: it writes)."""
    policy.SCORE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = await _load(scope, lead_id)
        result = score_lead(row)
        if result.score != row["hotness_score"] or result.temperature != row["temperature"]:
            await Lead.update(
                {
                    Lead.hotness_score: result.score,
                    Lead.temperature: result.temperature,
                    Lead.score_factors: result.factors,
                    Lead.score_confidence: result.confidence,
                }
            ).where(Lead.id == lead_id)
            after = {**row, **_apply_score(row)}
            await emit(
                scope,
                lead_subject(row),
                "scored",
                f"Score {row['hotness_score']} → {result.score} ({result.temperature})",
                {"hotness_score": (row["hotness_score"], result.score)},
                events=lead_events.of_change(row, after, scored=True),
            )
        else:
            await emit(scope, lead_subject(row), "scored", events=lead_events.of_change(row, row, scored=True))
    return schemas.LeadScore(
        lead_id=lead_id,
        score=result.score,
        temperature=result.temperature,
        factors=result.factors,
        confidence=result.confidence,
        hot=result.hot,
        urgency_indicators=result.urgency_indicators,
        recommendations=result.recommendations,
        recommended_action=result.recommended_action,
    )


async def rescore_tenant(scope: TenantScope, batch: int = 500) -> dict[str, int]:
    """Rescore every live lead of the tenant in batches (keyset over id); returns counts. Idempotent."""
    policy.SCORE_ALL.require(scope)
    processed = changed = last_id = 0
    while True:
        async with tenant_transaction(scope.tenant_id):
            rows = (
                await Lead.select()
                .where((Lead.tenant_id == scope.tenant_id) & Lead.deleted_at.is_null() & (Lead.id > last_id))
                .order_by(Lead.id)
                .limit(batch)
            )
            rescored = [(row, _apply_score(row)) for row in rows]
            rescored = [
                (row, after)
                for row, after in rescored
                if (after["hotness_score"], after["temperature"]) != (row["hotness_score"], row["temperature"])
            ]
            if rescored:
                changed += len(rescored)
                await fetch(
                    """UPDATE lead l SET hotness_score = u.score, temperature = u.temperature, score_factors = u.factors::jsonb,
                              score_confidence = u.confidence
                         FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[], $6::float8[])
                              AS u(id, score, temperature, factors, confidence)
                        WHERE l.tenant_id = $1 AND l.id = u.id""",
                    scope.tenant_id,
                    [row["id"] for row, _ in rescored],
                    [after["hotness_score"] for _, after in rescored],
                    [after["temperature"] for _, after in rescored],
                    [json.dumps(after["score_factors"]) for _, after in rescored],
                    [after["score_confidence"] for _, after in rescored],
                )
                await emit_all(
                    scope,
                    [
                        Change(
                            lead_subject(row),
                            "scored",
                            f"Score {row['hotness_score']} → {after['hotness_score']} ({after['temperature']})",
                            {"hotness_score": (row["hotness_score"], after["hotness_score"])},
                            lead_events.of_change(row, {**row, **after}),
                        )
                        for row, after in rescored
                    ],
                )
        processed += len(rows)
        if len(rows) < batch:
            return {"processed": processed, "changed": changed}
        last_id = rows[-1]["id"]


MAX_BULK = 500


async def bulk_assign(scope: TenantScope, lead_ids: list[int], agent_id: int | None) -> int:
    """Assign many leads at once, all or nothing; each lands on its timeline. Returns how many changed."""
    if not lead_ids or len(lead_ids) > MAX_BULK:
        raise ValidationFailed("Select between 1 and 500 leads", details={"field": "ids", "expected": f"1 to {MAX_BULK} lead ids"})
    async with tenant_transaction(scope.tenant_id):
        await _check_agent(scope, agent_id)
        rows = await _locked_live(scope, lead_ids)
        if len(rows) != len(set(lead_ids)):
            raise ResourceNotFound("Some of the selected leads do not exist", details={"field": "ids"})
        refused = [r["id"] for r in rows if not policy.EDIT.allows(scope, r)]
        if refused:
            raise PermissionDenied("You can assign only leads assigned to you or to nobody", details={"lead_ids": refused})
        return await assign_rows(scope, rows, agent_id)


async def bulk_delete(scope: TenantScope, lead_ids: list[int]) -> int:
    """Soft-delete many leads at once, all or nothing (admins and managers)."""
    policy.DELETE.require(scope)
    if not lead_ids or len(lead_ids) > MAX_BULK:
        raise ValidationFailed("Select between 1 and 500 leads", details={"field": "ids", "expected": f"1 to {MAX_BULK} lead ids"})
    async with tenant_transaction(scope.tenant_id):
        rows = await _locked_live(scope, lead_ids)
        if len(rows) != len(set(lead_ids)):
            raise ResourceNotFound("Some of the selected leads do not exist", details={"field": "ids"})
        return await delete_rows(scope, rows)


async def _locked_live(scope: TenantScope, lead_ids: list[int]) -> list[dict[str, Any]]:
    """The tenant's live leads among these ids, locked for the change (in id order, so two bulk changes never deadlock)."""
    query = Lead.select().where(Lead.id.is_in(lead_ids) & (Lead.tenant_id == scope.tenant_id) & Lead.deleted_at.is_null())
    return [dict(r) for r in await query.order_by(Lead.id).lock_rows("UPDATE")]


async def assign_rows(scope: TenantScope, rows: list[dict[str, Any]], agent_id: int | None) -> int:
    """Assign these locked leads (already checked: the agent, and that the caller may edit them), each change with its
    timeline entry and events in the caller's transaction. Returns how many changed (the others already were)."""
    changed = [r for r in rows if r["agent_id"] != agent_id]
    if changed:
        await Lead.update({Lead.agent_id: agent_id, Lead.updated_at: datetime.now(UTC)}).where(Lead.id.is_in([r["id"] for r in changed]))
    await emit_all(
        scope,
        [
            Change(
                lead_subject(row),
                "assigned",
                "Assigned" if agent_id else "Unassigned",
                {"agent_id": (row["agent_id"], agent_id)},
                lead_events.of_change(row, {**row, "agent_id": agent_id}),
            )
            for row in changed
        ],
    )
    return len(changed)


async def delete_rows(scope: TenantScope, rows: list[dict[str, Any]]) -> int:
    """Soft-delete these locked live leads (already checked: the caller may delete), each with its event, and one audit
    entry naming them all, in the caller's transaction."""
    if not rows:
        return 0
    ids = [r["id"] for r in rows]
    await Lead.update({Lead.deleted_at: datetime.now(UTC)}).where(Lead.id.is_in(ids))
    await emit_all(
        scope,
        [Change(lead_subject(row), "deleted", "Lead deleted (bulk)", events=[("lead.deleted", {"lead_id": row["id"]})]) for row in rows],
    )
    await emit(scope, Subject("lead", "bulk"), "deleted", audit={"lead_ids": sorted(ids)})
    return len(rows)


def _where(scope: TenantScope, filters: LeadFilters) -> tuple[str, list[Any]]:
    """SQL conditions and arguments for the filters (every value is a bind parameter)."""
    args: list[Any] = [scope.tenant_id]
    clauses = ["tenant_id = $1", "deleted_at IS NOT NULL" if filters.deleted else "deleted_at IS NULL"]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if filters.status:
        add("status = ANY(?::text[])", list(filters.status))
    if filters.budget_min is not None:
        add("coalesce(budget_max, budget_min) >= ?", filters.budget_min)
    if filters.budget_max is not None:
        add("coalesce(budget_min, budget_max) <= ?", filters.budget_max)
    for name in (
        "property_type",
        "transaction_type",
        "language",
        "temperature",
        "source",
        "agent_id",
        "contact_id",
        "company_id",
        "campaign_id",
    ):
        value = getattr(filters, name)
        if value is not None:
            add(f"{name} = ?", value)
    if filters.created_after is not None:
        add("created_at >= ?", filters.created_after)
    if filters.created_before is not None:
        add("created_at < ?", filters.created_before)
    if filters.unassigned:
        clauses.append("agent_id IS NULL")
    if filters.ids:
        add("id = ANY(?::bigint[])", list(filters.ids))
    if filters.score_min is not None:
        add("hotness_score >= ?", filters.score_min)
    if filters.score_max is not None:
        add("hotness_score <= ?", filters.score_max)
    for column in ("updated", "last_interaction"):
        name = "updated_at" if column == "updated" else column
        if (after := getattr(filters, f"{column}_after")) is not None:
            add(f"{name} >= ?", after)
        if (before := getattr(filters, f"{column}_before")) is not None:
            add(f"{name} < ?", before)
    for name in ("phone", "email"):
        wanted = getattr(filters, f"has_{name}")
        if wanted is not None:
            clauses.append(f"{name} IS {'NOT ' if wanted else ''}NULL")
    if filters.purpose is not None:
        add("purpose = ?", filters.purpose)
    if filters.bedrooms is not None:  # the lead's wanted range holds this many bedrooms (an open end is open)
        add("coalesce(bedrooms_min, 0) <= ? AND coalesce(bedrooms_max, 1000) >= ? AND num_nonnulls(bedrooms_min, bedrooms_max) > 0",
            filters.bedrooms)  # fmt: skip
    if filters.location:  # every ? of a condition is the same argument
        anywhere = "(preferred_location ILIKE ? OR EXISTS (SELECT 1 FROM unnest(preferred_locations) l WHERE l ILIKE ?))"
        add(anywhere, like_pattern(filters.location))
    if filters.tag:
        add("custom_fields -> 'tags' @> jsonb_build_array(?::text)", filters.tag)
    for name in ("has_overdue_task", "no_next_step"):
        if getattr(filters, name):
            clauses.append(_task_condition(name))
    return " AND ".join(clauses), args


# Conditions on a lead's tasks ("has an overdue task", "no next step"), given by the domain that keeps tasks
# (app/activities/domain.py): SQL on the listed lead's `id`, with $1 the tenant.
_task_conditions: dict[str, str] = {}


def provide_task_conditions(conditions: dict[str, str]) -> None:
    """Let the domain that keeps tasks say how a lead's tasks are filtered on (has_overdue_task, no_next_step)."""
    _task_conditions.update(conditions)


def _task_condition(name: str) -> str:
    if name not in _task_conditions:
        raise ValidationFailed(f"Invalid {name}: tasks are not kept here", details={"field": name, "expected": "false"})
    return _task_conditions[name]


async def lead_source(filters: LeadFilters) -> str:
    """What lists, searches and exports read in the current tenant transaction: the tenant's leads, or those
    matching `q` when there is one (app.db.scoped_source); `_where` adds the other filters."""
    return await scoped_source("lead", like_pattern(phone_search_term(filters.q)) if filters.q else None)


async def campaign_choices(scope: TenantScope) -> list[dict[str, Any]]:
    """The tenant's campaigns a lead can belong to, by name ({id, name}; the pickers and filters list them)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await fetch("SELECT id, name FROM campaign WHERE tenant_id = $1 ORDER BY lower(name), id LIMIT 500", scope.tenant_id)


async def status_counts(scope: TenantScope) -> dict[str, int]:
    """Live leads per status (from the counters: one small read)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch("SELECT status, live FROM lead_counter WHERE tenant_id = $1", scope.tenant_id)
    counts = dict.fromkeys(schemas.STATUSES, 0)
    counts.update({r["status"]: int(r["live"]) for r in rows})
    return counts


def _counted_by_status(filters: LeadFilters) -> bool:
    """Whether the total can come from lead_counter: live leads, filtered by status at most."""
    only_status = LeadFilters(status=filters.status)
    return filters == only_status


async def _page_in_window(scope: TenantScope, matches: int, query: ListQuery) -> bool:
    """Whether the first SEARCH_WINDOW leads are expected to hold twice the matches the page needs (the planner's
    `matches` out of the tenant's live leads): a rarer word goes straight to the trigram index."""
    rows = await fetch("SELECT coalesce(sum(live), 0) AS n FROM lead_counter WHERE tenant_id = $1", scope.tenant_id)
    return matches * SEARCH_WINDOW >= 2 * (query.offset + query.limit) * max(int(rows[0]["n"]), 1)


async def _total(
    scope: TenantScope,
    filters: LeadFilters,
    source: str,
    where: str,
    args: list[Any],
    query: ListQuery,
    on_page: int,
    estimate: int | None = None,
) -> tuple[int, bool]:
    """(total, is_estimate) at the least cost that keeps it honest.

    No filter but status: exact from lead_counter. A short page (not past the end): exact for free.
    Otherwise app.db.bounded_total: an exact count when the planner expects few, else its estimate, flagged.
    """
    if _counted_by_status(filters):
        statuses = list(filters.status) or list(schemas.STATUSES)
        rows = await fetch(
            "SELECT coalesce(sum(live), 0) AS n FROM lead_counter WHERE tenant_id = $1 AND status = ANY($2::text[])",
            scope.tenant_id,
            statuses,
        )
        return int(rows[0]["n"]), False
    return await bounded_total(source, where, args, query.offset, query.limit, on_page, estimate=estimate)


async def list_leads(scope: TenantScope, filters: LeadFilters, query: ListQuery, base_url: str) -> Page[schemas.LeadSummary]:
    """A page of leads matching the filters.

    `total` is exact and costs one row read for the common case (no filter but status, kept by
    triggers in lead_counter); for other filters see `_total`: estimates are flagged by
    `total_is_estimate`.
    """
    policy.VIEW.require(scope)
    if filters.deleted:
        policy.VIEW_DELETED.require(scope)
    order = sort_order(query.sort, SORTS, "-created_at")
    where, args = _where(scope, filters)
    columns = ", ".join(k for k in SUMMARY_FIELDS if k not in ("conversation_url", "roi_report_url"))
    url = f"${len(args) + 1} || id::text AS conversation_url"  # conversation_url(), built by the database
    ordered = order.sql(nulls_last=order.field in NULLABLE_SORTS)
    page = f"ORDER BY {ordered} LIMIT {query.limit} OFFSET {query.offset}"
    async with tenant_transaction(scope.tenant_id):
        source = await lead_source(filters)
        rows: list[schemas.LeadSummary] = []
        matches = None
        if filters.q and order.field in WINDOWED_SORTS and query.offset + query.limit <= SEARCH_WINDOW:
            matches = await planner_estimate(source, where, args)
            if await _page_in_window(scope, matches, query):
                # A common word's first matches are among the first leads in this order, which its index walks
                # to; the trigram index would fetch every match (tens of thousands) to sort them. A full page
                # found there is exactly the page: the window is the start of the whole order.
                rows = await fetch_as(
                    schemas.LeadSummary,
                    f"SELECT {columns}, {url} FROM (SELECT * FROM lead WHERE {where} ORDER BY {ordered} LIMIT {SEARCH_WINDOW}) w "
                    f"WHERE ({SEARCH_TEXT}) ILIKE ${len(args) + 2} {page}",
                    *args,
                    conversation_url_prefix(base_url),
                    like_pattern(phone_search_term(filters.q)),
                )
        if len(rows) < query.limit:
            rows = await fetch_as(
                schemas.LeadSummary, f"SELECT {columns}, {url} FROM {source} WHERE {where} {page}", *args, conversation_url_prefix(base_url)
            )
        total, estimate = await _total(scope, filters, source, where, args, query, len(rows), matches)
    for row in rows:
        row.roi_report_url = roi_report_url(row.id)
    return page_of(schemas.LeadSummary, rows, query, total, estimate=estimate)


async def timeline(scope: TenantScope, lead_id: int, query: ListQuery) -> Page[TimelineEntry]:
    """The lead's timeline, newest first (deleted leads keep theirs, visible to admins)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await _load(scope, lead_id, include_deleted=policy.VIEW_DELETED.allows(scope))
        return await read_timeline(scope, query, subject=Subject("lead", lead_id))
