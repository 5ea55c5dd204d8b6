"""Properties: their list, stages, timeline and board, portfolio numbers and reconciliation (no HTTP).

Matching buyers and pricing from comparables are in app.properties.matching.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from msgspec import UNSET

from app.core.errors import ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery, sort_order
from app.core.schemas import checked_money, normalise_phone
from app.core.versions import require_current
from app.db import TenantScope, bounded_total, fetch, like_pattern, planner_estimate, scoped_source, tenant_transaction
from app.events.service import Subject, emit, jsonable
from app.properties import policy, schemas
from app.settings import base_url

# What searches match (the expression of the trigram index); see app.db.search_view_sql.
SEARCH_TEXT = "address || ' ' || city || ' ' || owner_name"
MAX_LIMIT = 1000  # the guide's largest page
DEFAULT_LIMIT = 100
SORTS = {
    "created_at": "p.created_at",
    "updated_at": "p.updated_at",
    "address": "p.address",
    "bird_dog_score": "p.bird_dog_score",
    "estimated_value": "p.estimated_value",
    "price": "p.price",
    "last_contact_at": "p.last_contact_at",
    "current_stage": "p.current_stage",
}
NULLABLE_SORTS = frozenset({"bird_dog_score", "estimated_value", "price", "last_contact_at"})
COLUMN_PAGE = 30  # cards a board column shows before "More"
# A search sorted by one of these (an index walks them in order) first looks for its page among the first
# SEARCH_WINDOW properties in that order, and asks the trigram index only when the page is not full there.
WINDOWED_SORTS = frozenset({"created_at"})
SEARCH_WINDOW = 5_000


@dataclass(frozen=True, slots=True)
class PropertyFilters:
    """The list filters of the Real Estate OS guide, plus the ones the screens need."""

    stage: tuple[str, ...] = ()
    assigned_user_id: int | None = None
    unassigned: bool = False
    score_gte: float | None = None
    score_lte: float | None = None
    has_memo: bool | None = None
    has_reply: bool | None = None
    search: str | None = None
    tags: tuple[str, ...] = ()
    neighborhood: str | None = None
    city: str | None = None
    listing_status: str | None = None
    property_type: str | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    bedrooms: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_tags(raw: list[str] | str | None) -> tuple[str, ...]:
    """`tags=a&tags=b` or `tags=a,b` → the tags (a property must carry all of them)."""
    if not raw:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    return tuple(dict.fromkeys(t.strip() for item in items for t in item.split(",") if t.strip()))


def check_team(scope: TenantScope, team_id: int | None) -> None:
    """The guide's `team_id` is the caller's tenant: another team's id is not found, as any other tenant's id."""
    if team_id is not None and team_id != scope.tenant_id:
        raise ResourceNotFound("Team not found", details={"team_id": team_id})


# --------------------------------------------------------------------------- reading

_COLUMNS = """p.id, p.tenant_id AS team_id, p.address, p.city, p.state, p.zip_code, p.neighborhood, p.owner_name, p.owner_phone,
       p.owner_email, p.assigned_user_id, u.full_name AS assigned_user_name, p.bird_dog_score::float8 AS bird_dog_score,
       p.estimated_value, p.price, p.currency, p.bedrooms, p.bathrooms, p.square_feet, p.property_type, p.listing_status,
       p.listed_on, CASE WHEN p.listed_on IS NOT NULL THEN (coalesce(p.closed_at::date, current_date) - p.listed_on) END AS days_on_market,
       p.latitude, p.longitude, p.current_stage, p.stage_changed_at, p.closed_at, p.tags, p.notes, p.last_contact_at, p.has_memo,
       p.has_reply, p.created_by, p.created_at, p.updated_at"""
_FROM = "FROM {source} p LEFT JOIN app_user u ON u.id = p.assigned_user_id AND u.tenant_id = p.tenant_id"


def property_url(property_id: int) -> str:
    """Where a person opens the property."""
    return f"{base_url()}/properties/{property_id}"


def _property(row: Mapping[str, Any], market: schemas.MarketData | None = None) -> schemas.Property:
    return msgspec.convert(
        {**row, "tags": list(row["tags"] or []), "url": property_url(int(row["id"])), "market_data": market}, schemas.Property
    )


async def _row(scope: TenantScope, property_id: int, *, lock: bool = False) -> dict[str, Any]:
    if lock:
        await fetch("SELECT 1 FROM property WHERE tenant_id = $1 AND id = $2 FOR UPDATE", scope.tenant_id, property_id)
    rows = await fetch(
        f"SELECT {_COLUMNS} {_FROM.format(source='property')} WHERE p.tenant_id = $1 AND p.id = $2", scope.tenant_id, property_id
    )
    if not rows:
        raise ResourceNotFound("Property not found", details={"property_id": property_id})
    return rows[0]


def _rounded(value: Decimal | float | None, places: str = "0.01") -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal(places), ROUND_HALF_UP)


def _comparables(scope: TenantScope, row: Mapping[str, Any], *, rentals: bool) -> tuple[str, list[Any]]:
    """The WHERE clause and arguments of a property's comparables: the tenant's other properties with a price in the same
    neighbourhood (or city when it has none), within one bedroom and 25 % of its size, rentals or sales."""
    args: list[Any] = [scope.tenant_id, row["id"]]
    clauses = ["tenant_id = $1", "id <> $2", "price IS NOT NULL"]
    clauses.append(f"listing_status {'IN' if rentals else 'NOT IN'} ('for_rent', 'rented')")
    if row["neighborhood"]:
        args.append(row["neighborhood"])
        clauses.append(f"lower(neighborhood) = lower(${len(args)})")
    elif row["city"]:
        args.append(row["city"])
        clauses.append(f"lower(city) = lower(${len(args)})")
    if row["bedrooms"] is not None:
        args.append(row["bedrooms"])
        clauses.append(f"bedrooms BETWEEN ${len(args)} - 1 AND ${len(args)} + 1")
    if row["square_feet"]:
        args.append(row["square_feet"])
        clauses.append(f"square_feet BETWEEN ${len(args)} * 0.75 AND ${len(args)} * 1.25")
    return " AND ".join(clauses), args


async def market_data(scope: TenantScope, row: Mapping[str, Any]) -> schemas.MarketData:
    """Days on market, price per square foot and the average price of its comparables (`_comparables`) in the same
    market (rentals with rentals, sales with sales)."""
    price = row["price"] if row["price"] is not None else row["estimated_value"]
    per_sqft = _rounded(price / row["square_feet"]) if price is not None and row["square_feet"] else None
    where, args = _comparables(scope, row, rentals=row["listing_status"] in schemas.RENTAL_STATUSES)
    comps = await fetch(f"SELECT count(*) AS n, avg(price) AS average FROM property WHERE {where}", *args)
    count = int(comps[0]["n"])
    return schemas.MarketData(
        days_on_market=row["days_on_market"],
        price_per_sqft=per_sqft,
        comparable_avg_price=_rounded(comps[0]["average"]) if count else None,
        comparables_count=count,
    )


async def yearly_rent_estimate(scope: TenantScope, prop: schemas.Property) -> tuple[Decimal | None, str]:
    """What a property would let for in a year, and where that figure comes from: a rental's own rent, else the
    average rent of its comparable rentals (None when it has none)."""
    if prop.listing_status in schemas.RENTAL_STATUSES:
        return (prop.price, "its rent") if prop.price is not None else (None, "")
    where, args = _comparables(scope, msgspec.structs.asdict(prop), rentals=True)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(f"SELECT count(*) AS n, avg(price) AS average FROM property WHERE {where}", *args)
    count = int(rows[0]["n"])
    if not count:
        return None, ""
    return _rounded(rows[0]["average"]), f"the average rent of {count} comparable rental{'s' if count > 1 else ''}"


async def get_property(scope: TenantScope, property_id: int) -> schemas.Property:
    """One property with its market data (404 for other tenants' ids)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = await _row(scope, property_id)
        return _property(row, await market_data(scope, row))


def _where(scope: TenantScope, filters: PropertyFilters) -> tuple[str, list[Any]]:
    args: list[Any] = [scope.tenant_id]
    clauses = ["p.tenant_id = $1"]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if filters.stage:
        add("p.current_stage = ANY(?::text[])", list(filters.stage))
    if filters.assigned_user_id is not None:
        add("p.assigned_user_id = ?", filters.assigned_user_id)
    if filters.unassigned:
        clauses.append("p.assigned_user_id IS NULL")
    # Scores in thousandths (`score_milli`, exact: scores have three decimals), whose comparison an index can use
    # under row-level security (a numeric one cannot).
    if filters.score_gte is not None:
        add("p.score_milli >= ?", int((Decimal(str(filters.score_gte)) * 1000).to_integral_value(ROUND_CEILING)))
    if filters.score_lte is not None:
        add("p.score_milli <= ?", int((Decimal(str(filters.score_lte)) * 1000).to_integral_value(ROUND_FLOOR)))
    if filters.has_memo is not None:
        add("p.has_memo = ?", filters.has_memo)
    if filters.has_reply is not None:
        add("p.has_reply = ?", filters.has_reply)
    if filters.tags:
        add("p.tags @> ?::varchar[]", list(filters.tags))
    if filters.neighborhood:
        add("lower(p.neighborhood) = lower(?)", filters.neighborhood)
    if filters.city:
        add("lower(p.city) = lower(?)", filters.city)
    if filters.listing_status:
        add("p.listing_status = ?", filters.listing_status)
    if filters.property_type:
        add("p.property_type = ?", filters.property_type)
    if filters.price_min is not None:
        add("p.price >= ?", filters.price_min)
    if filters.price_max is not None:
        add("p.price <= ?", filters.price_max)
    if filters.bedrooms is not None:
        add("p.bedrooms = ?", filters.bedrooms)
    return " AND ".join(clauses), args


@dataclass(frozen=True, slots=True)
class PropertyPage:
    """A page of properties and its total (the guide answers a bare array; the total travels in `X-Total-Count`)."""

    items: list[schemas.Property]
    total: int
    total_is_estimate: bool
    limit: int
    offset: int


async def list_properties(scope: TenantScope, filters: PropertyFilters, query: ListQuery) -> PropertyPage:
    """The properties matching every filter, in `sort` order (default newest first)."""
    policy.VIEW.require(scope)
    order = sort_order(query.sort, SORTS, "-created_at")
    where, args = _where(scope, filters)
    ordered = order.sql(tiebreak="p.id", nulls_last=order.field in NULLABLE_SORTS)
    page = f"ORDER BY {ordered} LIMIT {query.limit} OFFSET {query.offset}"
    async with tenant_transaction(scope.tenant_id):
        pattern = like_pattern(filters.search) if filters.search else None
        source = await scoped_source("property", pattern)
        rows: list[dict[str, Any]] = []
        matches = None
        if pattern and order.field in WINDOWED_SORTS and query.offset + query.limit <= SEARCH_WINDOW:
            matches = await planner_estimate(f"{source} p", where, args)
            everything = await planner_estimate("property p", "p.tenant_id = $1", [scope.tenant_id])
            if matches * SEARCH_WINDOW >= 2 * (query.offset + query.limit) * max(everything, 1):
                # A common word's first matches are among the first properties in this order, which its index walks
                # to; the trigram index would fetch every match to sort them. A full page found there is exactly
                # the page: the window is the start of the whole order (as app.leads.service.list_leads does).
                window = (
                    f"(SELECT * FROM (SELECT * FROM property p WHERE {where} ORDER BY {ordered} LIMIT {SEARCH_WINDOW}) w "
                    f"WHERE ({SEARCH_TEXT}) ILIKE ${len(args) + 1})"
                )
                rows = await fetch(f"SELECT {_COLUMNS} {_FROM.format(source=window)} {page}", *args, pattern)
        if len(rows) < query.limit:
            rows = await fetch(f"SELECT {_COLUMNS} {_FROM.format(source=source)} WHERE {where} {page}", *args)
        total, estimate = await bounded_total(f"{source} p", where, args, query.offset, query.limit, len(rows), estimate=matches)
    return PropertyPage([_property(r) for r in rows], total, estimate, query.limit, query.offset)


# --------------------------------------------------------------------------- changing


async def _check_assignee(scope: TenantScope, user_id: int | None) -> None:
    """422 unless `user_id` is an active admin, manager or agent of the tenant; agents assign only themselves."""
    if user_id is None:
        return
    policy.ASSIGN.require(scope, user_id)
    rows = await fetch("SELECT role, is_active FROM app_user WHERE tenant_id = $1 AND id = $2", scope.tenant_id, user_id)
    if not rows or not rows[0]["is_active"] or not policy.can_own(rows[0]["role"]):
        raise ValidationFailed(
            "Invalid assigned_user_id: an active admin, manager or agent of your team",
            details={
                "field": "assigned_user_id",
                "provided": user_id,
                "expected": "the id of an active admin, manager or agent",
                "reason": "unknown_reference",
            },
            human="Choose someone who works properties",
        )


def _values(scope: TenantScope, data: schemas.PropertyCreate | schemas.PropertyUpdate) -> dict[str, Any]:
    """The columns a request sets, checked and normalised."""
    values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not UNSET}
    check_team(scope, values.pop("team_id", None))
    for name in ("estimated_value", "price"):
        checked_money(name, values.get(name), human="Enter a positive amount with at most 2 decimals")
    if values.get("owner_phone"):
        try:
            values["owner_phone"] = normalise_phone(values["owner_phone"])
        except ValidationFailed as refused:
            raise ValidationFailed(
                "Invalid owner_phone format",
                details={**refused.details, "field": "owner_phone", "provided": values["owner_phone"]},
                human=refused.human,
            ) from None
    for name in ("address", "city", "state", "zip_code", "neighborhood", "owner_name"):
        if isinstance(values.get(name), str):
            values[name] = values[name].strip()
    if "tags" in values:
        values["tags"] = list(dict.fromkeys(t.strip() for t in values["tags"]))
    if "days_on_market" in values:
        days = values.pop("days_on_market")
        values["listed_on"] = None if days is None else datetime.now(UTC).date() - timedelta(days=days)
    for name in ("bathrooms", "latitude", "longitude"):
        if values.get(name) is not None:
            values[name] = Decimal(str(values[name]))
    if "bird_dog_score" in values and values["bird_dog_score"] is not None:
        values["bird_dog_score"] = Decimal(str(values["bird_dog_score"])).quantize(Decimal("0.001"), ROUND_HALF_UP)
    return values


def _subject(property_id: int) -> Subject:
    return Subject("property", property_id)


def _payload(prop: schemas.Property) -> dict[str, Any]:
    """The `data` of property events."""
    body = {k: jsonable(v) for k, v in msgspec.to_builtins(prop).items() if k not in ("id", "market_data")}
    return {"property_id": prop.id, **body}


def _updated_payload(scope: TenantScope, prop: schemas.Property) -> dict[str, Any]:
    """`property_updated` as the guide lists it."""
    return {
        "property_id": prop.id,
        "team_id": prop.team_id,
        "current_stage": prop.current_stage,
        "assigned_user_id": prop.assigned_user_id,
        "updated_by": scope.user_id,
    }


_INSERTABLE = tuple(n for n in schemas.PropertyCreate.__struct_fields__ if n not in ("team_id", "days_on_market"))


async def create_property(scope: TenantScope, data: schemas.PropertyCreate) -> schemas.Property:
    """A new property, in its stage, assigned to whom it names (an agent's own by default)."""
    policy.CREATE.require(scope)
    values = _values(scope, data)
    values.setdefault("assigned_user_id", policy.default_assignee(scope))
    values["current_stage"] = data.current_stage
    async with tenant_transaction(scope.tenant_id):
        await _check_assignee(scope, values["assigned_user_id"])
        columns = [n for n in _INSERTABLE if n in values]
        placeholders = ", ".join(f"${i + 3}" for i in range(len(columns)))
        closed = "now()" if data.current_stage in schemas.CLOSED_STAGES else "NULL"
        rows = await fetch(
            f"""INSERT INTO property (tenant_id, created_by, {", ".join(columns)}, closed_at, stage_changed_at, created_at, updated_at)
                VALUES ($1, $2, {placeholders}, {closed}, now(), now(), now()) RETURNING id""",
            scope.tenant_id,
            scope.user_id,
            *[values[c] for c in columns],
        )
        row = await _row(scope, int(rows[0]["id"]))
        prop = _property(row)
        await emit(scope, _subject(prop.id), "created", f"Added {prop.address}", events=[("property.created", _payload(prop))])
        return _property(row, await market_data(scope, row))


_TRACKED = tuple(n for n in schemas.PropertyUpdate.__struct_fields__ if n not in ("team_id", "days_on_market"))


async def update_property(
    scope: TenantScope, property_id: int, data: schemas.PropertyUpdate, *, if_match: str | None = None
) -> schemas.Property:
    """Change a property. Stage moves and assignments are on its timeline and emit `property_updated`; honours
    `If-Match` (412 when stale)."""
    policy.EDIT.require(scope)
    values = _values(scope, data)
    async with tenant_transaction(scope.tenant_id):
        current = await _row(scope, property_id, lock=True)
        policy.EDIT.require(scope, current)
        if if_match is not None:
            require_current(if_match, _property(current, await market_data(scope, current)))
        row = await _apply(scope, current, values) or current
        return _property(row, await market_data(scope, row))  # the comparables of the property as it now is


async def _apply(scope: TenantScope, current: dict[str, Any], values: dict[str, Any]) -> dict[str, Any] | None:
    """Write the changed columns of a locked property, its timeline entry and its events; returns the row as it now
    is, or None when nothing changed."""
    changes: dict[str, tuple[Any, Any]] = {}
    for name in _TRACKED:
        if name not in values:
            continue
        before = current[name]
        after = values[name]
        if name == "tags":
            before = list(before or [])
        if name == "bird_dog_score" and before is not None:
            before = Decimal(str(before)).quantize(Decimal("0.001"))
        if after != before:
            changes[name] = (before, after)
    if "assigned_user_id" in changes:
        await _check_assignee(scope, changes["assigned_user_id"][1])
    if not changes:
        return None
    sets = {k: v[1] for k, v in changes.items()}
    extra = ""
    if "current_stage" in changes:
        extra = ", stage_changed_at = now(), closed_at = " + ("now()" if sets["current_stage"] in schemas.CLOSED_STAGES else "NULL")
    assignments = ", ".join(f"{k} = ${i + 3}" for i, k in enumerate(sets))
    await fetch(
        f"UPDATE property SET {assignments}{extra}, updated_at = now() WHERE tenant_id = $1 AND id = $2",
        scope.tenant_id,
        current["id"],
        *sets.values(),
    )
    row = await _row(scope, int(current["id"]))
    prop = _property(row)
    parts = []
    if "current_stage" in changes:
        old, new = changes["current_stage"]
        parts.append(f"Stage {schemas.STAGE_LABELS[old]} → {schemas.STAGE_LABELS[new]}")
    if "assigned_user_id" in changes:
        parts.append(f"Assigned to {prop.assigned_user_name}" if prop.assigned_user_name else "Unassigned")
    others = sorted(k for k in changes if k not in ("current_stage", "assigned_user_id", "notes"))
    if others:
        parts.append("Changed " + ", ".join(others))
    if "notes" in changes:
        parts.append("Notes: " + (prop.notes[:200] or "cleared"))
    events: list[tuple[str, Mapping[str, Any]]] = [
        ("property.updated", {**_payload(prop), "changed_fields": sorted(changes), "changed_by": scope.user_id})
    ]
    if "current_stage" in changes or "assigned_user_id" in changes:
        events.append(("property_updated", _updated_payload(scope, prop)))
    kind = "stage_changed" if "current_stage" in changes else ("assigned" if "assigned_user_id" in changes else "updated")
    await emit(scope, _subject(prop.id), kind, "; ".join(parts), changes, events=events)
    return row


async def bulk_change(scope: TenantScope, data: schemas.BulkChange) -> schemas.BulkResult:
    """Move several properties to a stage and/or assign them, each as its own change (timeline and events); the ones
    the caller may not change are named with why, the others are changed."""
    policy.EDIT.require(scope)
    values: dict[str, Any] = {}
    if data.current_stage is not UNSET:
        values["current_stage"] = data.current_stage
    if data.assigned_user_id is not UNSET:
        values["assigned_user_id"] = data.assigned_user_id
    if not values:
        raise ValidationFailed(
            "Nothing to change: send current_stage or assigned_user_id",
            details={"field": "current_stage", "provided": None, "expected": "a stage, an assignee, or both"},
            human="Choose a stage or a person",
        )
    updated: list[int] = []
    refused: dict[str, str] = {}
    async with tenant_transaction(scope.tenant_id):
        if "assigned_user_id" in values:
            await _check_assignee(scope, values["assigned_user_id"])
        ids = sorted(set(data.property_ids))
        rows = await fetch(
            "SELECT id FROM property WHERE tenant_id = $1 AND id = ANY($2::bigint[]) ORDER BY id FOR UPDATE", scope.tenant_id, ids
        )
        found = {int(r["id"]) for r in rows}
        for property_id in ids:
            if property_id not in found:
                refused[str(property_id)] = "Property not found"
                continue
            current = await _row(scope, property_id)
            if not policy.EDIT.allows(scope, current):
                refused[str(property_id)] = policy.EDIT.record_denied
                continue
            await _apply(scope, current, values)
            updated.append(property_id)
    return schemas.BulkResult(updated=updated, refused=refused)


async def delete_property(scope: TenantScope, property_id: int) -> None:
    """Delete a property (and its portfolio memberships); the audit log keeps who did it."""
    policy.DELETE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = await _row(scope, property_id, lock=True)
        prop = _property(row)
        await fetch("DELETE FROM property WHERE tenant_id = $1 AND id = $2", scope.tenant_id, property_id)
        await emit(
            scope,
            _subject(property_id),
            "deleted",
            audit={"address": prop.address},
            events=[("property.deleted", {"property_id": property_id, "team_id": prop.team_id, "address": prop.address})],
        )


# --------------------------------------------------------------------------- timeline

_TITLES = {
    "created": "Property Added to Pipeline",
    "stage_changed": "Stage Changed",
    "assigned": "Property Assigned",
    "updated": "Property Updated",
    "memo_sent": "Memo Sent",
    "reply_received": "Reply Received",
}


async def timeline(scope: TenantScope, property_id: int, offset: int = 0, limit: int = DEFAULT_LIMIT) -> list[schemas.TimelineEvent]:
    """The property's timeline, oldest first as the guide shows it: `event_type` is `property_<kind>` for its own changes
    (`property_created`, `property_stage_changed`…) and the kind itself for what others record on it (`memo_sent`)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await _row(scope, property_id)
        rows = await fetch(
            f"""SELECT id, kind, summary, changes, actor, created_at FROM activity
                 WHERE tenant_id = $1 AND subject_type = 'property' AND subject_id = $2
                 ORDER BY created_at, id LIMIT {limit} OFFSET {offset}""",
            scope.tenant_id,
            property_id,
        )
    events = []
    for row in rows:
        kind = str(row["kind"])
        own = kind in ("created", "stage_changed", "assigned", "updated")
        events.append(
            schemas.TimelineEvent(
                id=int(row["id"]),
                property_id=property_id,
                event_type=f"property_{kind}" if own else kind,
                event_title=_TITLES.get(kind, kind.replace("_", " ").capitalize()),
                event_description=str(row["summary"]),
                actor=str(row["actor"]),
                created_at=row["created_at"],
            )
        )
    return events


# --------------------------------------------------------------------------- board


@dataclass(frozen=True, slots=True)
class Column:
    """A stage of the property board with its first cards."""

    stage: str
    label: str
    count: int
    total_value: Decimal
    cards: list[dict[str, Any]]
    has_more: bool


_CARD = """p.id, p.address, p.city, p.neighborhood, p.owner_name, p.assigned_user_id, u.full_name AS assigned_user_name,
       p.bird_dog_score::float8 AS bird_dog_score, p.estimated_value, p.currency, p.current_stage"""
# Within a stage the best prospects come first: highest bird-dog score, then the newest.
_CARD_ORDER = "p.bird_dog_score DESC NULLS LAST, p.id DESC"


async def board(scope: TenantScope, filters: PropertyFilters, *, per_stage: int = COLUMN_PAGE) -> list[Column]:
    """Every stage with its count, estimated value and first cards (the same filters as the list)."""
    policy.VIEW.require(scope)
    where, args = _where(scope, filters)
    async with tenant_transaction(scope.tenant_id):
        source = await scoped_source("property", like_pattern(filters.search) if filters.search else None)
        totals = await fetch(
            f"SELECT p.current_stage, count(*) AS n, coalesce(sum(p.estimated_value), 0) AS value FROM {source} p WHERE {where} "
            "GROUP BY p.current_stage",
            *args,
        )
        cards = await fetch(
            f"""SELECT c.* FROM unnest($%d::text[]) AS s(stage) CROSS JOIN LATERAL (
                  SELECT {_CARD} {_FROM.format(source=source)} WHERE {where} AND p.current_stage = s.stage
                   ORDER BY {_CARD_ORDER} LIMIT {per_stage + 1}) c"""
            % (len(args) + 1),
            *args,
            list(schemas.STAGES),
        )
    by_stage: dict[str, list[dict[str, Any]]] = {s: [] for s in schemas.STAGES}
    for card in cards:
        by_stage[card["current_stage"]].append(card)
    counted = {r["current_stage"]: r for r in totals}
    return [
        Column(
            stage=stage,
            label=schemas.STAGE_LABELS[stage],
            count=int(counted[stage]["n"]) if stage in counted else 0,
            total_value=Decimal(counted[stage]["value"]) if stage in counted else Decimal(0),
            cards=by_stage[stage][:per_stage],
            has_more=len(by_stage[stage]) > per_stage,
        )
        for stage in schemas.STAGES
    ]


async def column(
    scope: TenantScope, stage: str, filters: PropertyFilters, after: int, limit: int = COLUMN_PAGE
) -> tuple[list[dict[str, Any]], bool]:
    """The next cards of a stage, after the first `after`."""
    policy.VIEW.require(scope)
    where, args = _where(scope, filters)
    async with tenant_transaction(scope.tenant_id):
        source = await scoped_source("property", like_pattern(filters.search) if filters.search else None)
        rows = await fetch(
            f"SELECT {_CARD} {_FROM.format(source=source)} WHERE {where} AND p.current_stage = ${len(args) + 1} "
            f"ORDER BY {_CARD_ORDER} LIMIT {limit + 1} OFFSET {after}",
            *args,
            stage,
        )
    return rows[:limit], len(rows) > limit


# --------------------------------------------------------------------------- portfolio numbers


async def _tenant_zone(scope: TenantScope) -> ZoneInfo:
    rows = await fetch("SELECT time_zone FROM tenant WHERE id = $1", scope.tenant_id)
    return ZoneInfo(str(rows[0]["time_zone"]) if rows else "UTC")


def _ratio(value: Any, places: int = 3) -> float:
    return float(round(Decimal(value), places))


async def stats(scope: TenantScope, date_from: date | None, date_to: date | None) -> schemas.PortfolioStats:
    """The numbers of the guide's `portfolio/stats`, over the properties added between `date_from` and `date_to`
    (inclusive days in the tenant's zone; every property when left out). `conversion_rate` = closed won / all;
    `avg_days_in_pipeline` = days from added to closed (to now while open); `this_month` counts the current
    month whatever the range."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        zone = await _tenant_zone(scope)
        args: list[Any] = [scope.tenant_id]
        where = "tenant_id = $1"
        if date_from is not None:
            args.append(datetime(date_from.year, date_from.month, date_from.day, tzinfo=zone))
            where += f" AND created_at >= ${len(args)}"
        if date_to is not None:
            end = date_to + timedelta(days=1)
            args.append(datetime(end.year, end.month, end.day, tzinfo=zone))
            where += f" AND created_at < ${len(args)}"
        now = datetime.now(zone)
        month = datetime(now.year, now.month, 1, tzinfo=zone)
        args.append(month)
        m = f"${len(args)}"
        # One index-only pass (property_stats covers these columns); the days add up as intervals, converted once.
        rows = await fetch(
            f"""SELECT current_stage, count(*) AS n, sum(bird_dog_score) AS score_sum, count(bird_dog_score) AS scored,
                       coalesce(sum(estimated_value), 0) AS value,
                       extract(epoch FROM sum(coalesce(closed_at, now()) - created_at)) / 86400 AS days,
                       count(*) FILTER (WHERE created_at >= {m}) AS new_this_month,
                       count(*) FILTER (WHERE closed_at >= {m}) AS closed_this_month
                  FROM property WHERE {where} GROUP BY current_stage""",
            *args,
        )
    by_stage = {str(r["current_stage"]): r for r in rows}
    total = sum(int(r["n"]) for r in rows)
    scored = sum(int(r["scored"]) for r in rows)
    score_sum = sum((Decimal(r["score_sum"]) for r in rows if r["score_sum"] is not None), Decimal(0))
    days = sum((Decimal(r["days"]) for r in rows if r["days"] is not None), Decimal(0))
    won = int(by_stage["closed_won"]["n"]) if "closed_won" in by_stage else 0
    return schemas.PortfolioStats(
        total_properties=total,
        by_stage=schemas.StageCounts(**{stage: int(r["n"]) for stage, r in by_stage.items()}),
        avg_bird_dog_score=_ratio(score_sum / scored, 2) if scored else None,
        total_estimated_value=sum((Decimal(r["value"]) for r in rows), Decimal(0)),
        conversion_rate=_ratio(Decimal(won) / total) if total else 0.0,
        avg_days_in_pipeline=_ratio(days / total, 1) if total else None,
        this_month=schemas.ThisMonth(
            new_properties=sum(int(r["new_this_month"]) for r in rows),
            closed_won=int(by_stage["closed_won"]["closed_this_month"]) if "closed_won" in by_stage else 0,
            closed_lost=int(by_stage["closed_lost"]["closed_this_month"]) if "closed_lost" in by_stage else 0,
        ),
        date_from=date_from,
        date_to=date_to,
    )


# --------------------------------------------------------------------------- portfolios

_PORTFOLIO = """SELECT f.id, f.name, f.expected_value, f.threshold, f.created_at, f.updated_at,
       count(m.id) AS properties_count, coalesce(sum(m.expected_value), 0) AS members_expected,
       coalesce(sum(p.estimated_value), 0) AS total_value_actual
  FROM portfolio f LEFT JOIN portfolio_property m ON m.portfolio_id = f.id AND m.tenant_id = f.tenant_id
  LEFT JOIN property p ON p.id = m.property_id AND p.tenant_id = m.tenant_id
 WHERE f.tenant_id = $1"""


async def _last_runs(scope: TenantScope, portfolio_ids: list[int]) -> dict[int, schemas.Reconciliation]:
    """The latest reconciliation of each of these portfolios (one query for a whole list)."""
    rows = await fetch(
        """SELECT DISTINCT ON (portfolio_id) portfolio_id, validation_status, discrepancy_percentage::float8 AS discrepancy_percentage,
                  threshold::float8 AS threshold, properties_checked, total_value_expected, total_value_actual, discrepancy_amount,
                  checked_at
             FROM portfolio_reconciliation WHERE tenant_id = $1 AND portfolio_id = ANY($2::bigint[])
            ORDER BY portfolio_id, checked_at DESC, id DESC""",
        scope.tenant_id,
        portfolio_ids,
    )
    return {int(r["portfolio_id"]): msgspec.convert(r, schemas.Reconciliation) for r in rows}


async def _last_run(scope: TenantScope, portfolio_id: int) -> schemas.Reconciliation | None:
    return (await _last_runs(scope, [portfolio_id])).get(portfolio_id)


def _portfolio(row: Mapping[str, Any], last: schemas.Reconciliation | None = None) -> schemas.Portfolio:
    expected = row["expected_value"] if row["expected_value"] is not None else row["members_expected"]
    return schemas.Portfolio(
        id=int(row["id"]),
        name=str(row["name"]),
        properties_count=int(row["properties_count"]),
        expected_value=row["expected_value"],
        total_value_expected=Decimal(expected),
        total_value_actual=Decimal(row["total_value_actual"]),
        threshold=Decimal(row["threshold"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_reconciliation=last,
    )


async def _portfolio_row(scope: TenantScope, portfolio_id: int, *, lock: bool = False) -> dict[str, Any]:
    if lock:
        await fetch("SELECT 1 FROM portfolio WHERE tenant_id = $1 AND id = $2 FOR UPDATE", scope.tenant_id, portfolio_id)
    rows = await fetch(_PORTFOLIO + " AND f.id = $2 GROUP BY f.id", scope.tenant_id, portfolio_id)
    if not rows:
        raise ResourceNotFound("Portfolio not found", details={"portfolio_id": portfolio_id})
    return rows[0]


async def list_portfolios(scope: TenantScope) -> list[schemas.Portfolio]:
    """Every portfolio of the tenant, by name."""
    policy.PORTFOLIO_VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(_PORTFOLIO + " GROUP BY f.id ORDER BY f.name, f.id", scope.tenant_id)
        last = await _last_runs(scope, [int(r["id"]) for r in rows])
        return [_portfolio(r, last.get(int(r["id"]))) for r in rows]


async def get_portfolio(scope: TenantScope, portfolio_id: int) -> schemas.Portfolio:
    """One portfolio with its totals and last reconciliation."""
    policy.PORTFOLIO_VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return _portfolio(await _portfolio_row(scope, portfolio_id), await _last_run(scope, portfolio_id))


async def _add_members(
    scope: TenantScope, portfolio_id: int, property_ids: list[int], values: list[schemas.MemberValue] | None = None
) -> None:
    given: dict[int, Decimal] = {}
    for member in values or []:
        checked_money("expected_values.expected_value", member.expected_value)
        given[member.property_id] = member.expected_value
    ids = sorted(set(property_ids) | set(given))
    if not ids:
        return
    rows = await fetch("SELECT id, estimated_value FROM property WHERE tenant_id = $1 AND id = ANY($2::bigint[])", scope.tenant_id, ids)
    known = {int(r["id"]): r["estimated_value"] for r in rows}
    missing = [i for i in ids if i not in known]
    if missing:
        raise ValidationFailed(
            f"Unknown property_ids: {', '.join(map(str, missing[:10]))}",
            details={
                "field": "property_ids",
                "provided": missing[:10],
                "expected": "ids of your properties",
                "reason": "unknown_reference",
            },
            human="Some of those properties do not exist",
        )
    await fetch(
        """INSERT INTO portfolio_property (tenant_id, portfolio_id, property_id, expected_value, added_at)
           SELECT $1, $2, m.id, m.value, now() FROM unnest($3::bigint[], $4::numeric[]) AS m(id, value)
           WHERE NOT EXISTS (SELECT 1 FROM portfolio_property x WHERE x.tenant_id = $1 AND x.portfolio_id = $2 AND x.property_id = m.id)""",
        scope.tenant_id,
        portfolio_id,
        ids,
        [given.get(i, known[i] if known[i] is not None else Decimal(0)) for i in ids],
    )


async def create_portfolio(scope: TenantScope, data: schemas.PortfolioCreate) -> schemas.Portfolio:
    """A new portfolio; each member's expected value is recorded now (its estimate, or the one given)."""
    policy.PORTFOLIO_MANAGE.require(scope)
    checked_money("expected_value", data.expected_value)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            """INSERT INTO portfolio (tenant_id, name, expected_value, threshold, created_by, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, now(), now()) RETURNING id""",
            scope.tenant_id,
            data.name.strip(),
            data.expected_value,
            Decimal(str(data.threshold)),
            scope.user_id,
        )
        portfolio_id = int(rows[0]["id"])
        await _add_members(scope, portfolio_id, data.property_ids, data.expected_values)
        await emit(scope, Subject("portfolio", portfolio_id), "created", audit={"name": data.name.strip()})
        return _portfolio(await _portfolio_row(scope, portfolio_id))


async def update_portfolio(scope: TenantScope, portfolio_id: int, data: schemas.PortfolioUpdate) -> schemas.Portfolio:
    """Rename it, change its expected total or threshold, add or remove members."""
    policy.PORTFOLIO_MANAGE.require(scope)
    if data.expected_value is not UNSET:
        checked_money("expected_value", data.expected_value)
    async with tenant_transaction(scope.tenant_id):
        await _portfolio_row(scope, portfolio_id, lock=True)
        sets: dict[str, Any] = {}
        if data.name is not UNSET:
            sets["name"] = data.name.strip()
        if data.expected_value is not UNSET:
            sets["expected_value"] = data.expected_value
        if data.threshold is not UNSET:
            sets["threshold"] = Decimal(str(data.threshold))
        if sets:
            assignments = ", ".join(f"{k} = ${i + 3}" for i, k in enumerate(sets))
            await fetch(
                f"UPDATE portfolio SET {assignments}, updated_at = now() WHERE tenant_id = $1 AND id = $2",
                scope.tenant_id,
                portfolio_id,
                *sets.values(),
            )
        await _add_members(scope, portfolio_id, data.add_property_ids)
        if data.remove_property_ids:
            await fetch(
                "DELETE FROM portfolio_property WHERE tenant_id = $1 AND portfolio_id = $2 AND property_id = ANY($3::bigint[])",
                scope.tenant_id,
                portfolio_id,
                data.remove_property_ids,
            )
        await emit(
            scope,
            Subject("portfolio", portfolio_id),
            "updated",
            audit=jsonable({**sets, "added": data.add_property_ids, "removed": data.remove_property_ids}),
        )
        return _portfolio(await _portfolio_row(scope, portfolio_id), await _last_run(scope, portfolio_id))


async def delete_portfolio(scope: TenantScope, portfolio_id: int) -> None:
    """Delete a portfolio (its properties stay)."""
    policy.PORTFOLIO_MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await _portfolio_row(scope, portfolio_id, lock=True)
        await fetch("DELETE FROM portfolio WHERE tenant_id = $1 AND id = $2", scope.tenant_id, portfolio_id)
        await emit(scope, Subject("portfolio", portfolio_id), "deleted", audit=True)


async def reconcile(scope: TenantScope, portfolio_id: int) -> schemas.Reconciliation:
    """Compare the portfolio's expected total with its members' current estimates: `discrepancy_amount` = actual -
    expected, `discrepancy_percentage` = |amount| / expected x 100 (2 decimals), `pass` when it is within the
    portfolio's `threshold` percent. The run is kept, and `portfolio.reconciled` emitted."""
    policy.PORTFOLIO_MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = await _portfolio_row(scope, portfolio_id, lock=True)
        portfolio = _portfolio(row)
        expected = portfolio.total_value_expected
        actual = portfolio.total_value_actual
        amount = actual - expected
        if expected:
            percentage = (abs(amount) / expected * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        else:
            percentage = Decimal(0) if not actual else Decimal(100)
        status = "pass" if percentage <= portfolio.threshold else "fail"
        members = await fetch(
            """SELECT p.id, p.address, m.expected_value, coalesce(p.estimated_value, 0) AS actual
                 FROM portfolio_property m JOIN property p ON p.id = m.property_id AND p.tenant_id = m.tenant_id
                WHERE m.tenant_id = $1 AND m.portfolio_id = $2 AND coalesce(p.estimated_value, 0) <> m.expected_value
                ORDER BY abs(coalesce(p.estimated_value, 0) - m.expected_value) DESC, p.id LIMIT 10""",
            scope.tenant_id,
            portfolio_id,
        )
        checked_at = datetime.now(UTC)
        await fetch(
            """INSERT INTO portfolio_reconciliation (tenant_id, portfolio_id, validation_status, total_value_expected,
                      total_value_actual, discrepancy_amount, discrepancy_percentage, threshold, properties_checked, checked_by, checked_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            scope.tenant_id,
            portfolio_id,
            status,
            expected,
            actual,
            amount,
            percentage,
            portfolio.threshold,
            portfolio.properties_count,
            scope.user_id,
            checked_at,
        )
        result = schemas.Reconciliation(
            portfolio_id=portfolio_id,
            validation_status=status,  # type: ignore[arg-type]
            discrepancy_percentage=float(percentage),
            threshold=float(portfolio.threshold),
            properties_checked=portfolio.properties_count,
            total_value_expected=expected,
            total_value_actual=actual,
            discrepancy_amount=amount,
            checked_at=checked_at,
            largest_discrepancies=[
                schemas.Discrepancy(
                    property_id=int(m["id"]),
                    address=str(m["address"]),
                    expected=m["expected_value"],
                    actual=m["actual"],
                    difference=m["actual"] - m["expected_value"],
                )
                for m in members
            ],
        )
        await emit(
            scope,
            Subject("portfolio", portfolio_id),
            "reconciled",
            audit={"validation_status": status, "discrepancy_percentage": str(percentage)},
            events=[("portfolio.reconciled", {**jsonable(msgspec.to_builtins(result)), "team_id": scope.tenant_id})],
        )
        return result
