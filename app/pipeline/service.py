"""Pipelines, stages and deals: the board's rules and queries (no HTTP).

Positions. Every open deal has a 1-based `position` in its stage, dense (1…n, no gap, no duplicate)
whatever happens concurrently. It is computed from `rank`, a sparse order key unique in its stage: a
move gives the deal a rank between its new neighbours' (the stage is renumbered, in one statement,
only when they leave no room), so it rewrites one row, not the stage. Every change of a stage's
deals first locks the stage rows it touches, in id order, then the deal; a deferred unique
constraint on (stage_id, rank) checks it at commit. Closed deals have no rank and no position.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from app.core.errors import Conflict, ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.core.schemas import checked_money
from app.core.versions import require_current
from app.db import TenantScope, fetch, like_pattern, tenant_transaction
from app.events import notifications
from app.events.schemas import TimelineEntry
from app.events.service import Subject, emit, jsonable
from app.events.service import timeline as read_timeline
from app.leads import service as leads
from app.leads.schemas import LeadUpdate
from app.pipeline import policy, schemas
from app.settings import base_url

T = TypeVar("T")

# The pipeline every tenant starts with: a real-estate sale, stage by stage (name, win probability %).
DEFAULT_PIPELINE = "Sales"
DEFAULT_STAGES = (
    ("New enquiry", 10),
    ("Qualified", 20),
    ("Viewing", 35),
    ("Offer made", 50),
    ("Negotiation", 65),
    ("Contract", 80),
    ("Closing", 95),
)
# A deal with no activity for this many days is flagged stale on the board.
STALE_AFTER_DAYS = 14
# Cards a column shows before "more" (the rest load as the column scrolls).
COLUMN_PAGE = 30
# The room left between neighbours' ranks: a stage is renumbered when two neighbours have none.
RANK_STEP = 1024

SORTS = {
    "created_at": "d.created_at",
    "updated_at": "d.updated_at",
    "title": "d.title",
    "value": "d.value",
    "expected_close_date": "d.expected_close_date",
    "position": "d.rank",
}
NULLABLE_SORTS = frozenset({"expected_close_date", "position"})


def _unknown(field: str, provided: Any, expected: str) -> ValidationFailed:
    """A well-formed id that names nothing of the tenant's (whether it does depends on the data, not the request)."""
    return ValidationFailed(
        f"Invalid {field}: {expected}", details={"field": field, "provided": provided, "expected": expected, "reason": "unknown_reference"}
    )


class WipLimitReached(Conflict):
    """A move into a stage that already holds its WIP limit of open deals."""

    code = "WIP_LIMIT_REACHED"


@dataclass(frozen=True, slots=True)
class DealFilters:
    """Filters of `GET /v2/deals` and of the board."""

    stage_id: int | None = None
    pipeline_id: int | None = None
    owner_id: int | None = None
    status: str | None = None
    value_min: Decimal | None = None
    value_max: Decimal | None = None
    q: str | None = None
    close_after: Any = None  # date
    close_before: Any = None  # date
    contact_id: int | None = None
    lead_id: int | None = None


# --------------------------------------------------------------------------- pipelines and stages


async def set_up_tenant(scope: TenantScope) -> None:
    """Give a new tenant the default pipeline (inside its transaction; nothing when it has a pipeline)."""
    if await fetch("SELECT 1 FROM pipeline WHERE tenant_id = $1 LIMIT 1", scope.tenant_id):
        return
    await _insert_pipeline(scope, DEFAULT_PIPELINE, [(name, probability, None) for name, probability in DEFAULT_STAGES], default=True)


async def _insert_pipeline(scope: TenantScope, name: str, stages: list[tuple[str, int, int | None]], *, default: bool) -> int:
    rows = await fetch(
        """INSERT INTO pipeline (tenant_id, name, is_default, position, created_at, updated_at)
           VALUES ($1, $2, $3, (SELECT coalesce(max(position), 0) + 1 FROM pipeline WHERE tenant_id = $1), now(), now()) RETURNING id""",
        scope.tenant_id,
        name,
        default,
    )
    pipeline_id = int(rows[0]["id"])
    await fetch(
        """INSERT INTO stage (tenant_id, pipeline_id, name, position, probability, wip_limit, created_at, updated_at)
           SELECT $1, $2, s.name, s.n, s.probability, s.wip_limit, now(), now()
             FROM unnest($3::text[], $4::int[], $5::int[]) WITH ORDINALITY AS s(name, probability, wip_limit, n)""",
        scope.tenant_id,
        pipeline_id,
        [s[0] for s in stages],
        [s[1] for s in stages],
        [s[2] for s in stages],
    )
    return pipeline_id


# A stage's open deals from deal_open (kept by triggers on deal in each change's transaction: a few rows per stage).
_STAGES = """
SELECT s.id, s.pipeline_id, s.name, s.position AS "order", s.wip_limit, s.probability,
       coalesce(sum(d.deals), 0)::bigint AS open_deals, coalesce(sum(d.value), 0) AS open_value
  FROM stage s LEFT JOIN deal_open d ON d.tenant_id = s.tenant_id AND d.stage_id = s.id
 WHERE s.tenant_id = $1 AND s.pipeline_id = ANY($2::bigint[])
 GROUP BY s.id ORDER BY s.pipeline_id, s.position
"""


async def _pipelines(scope: TenantScope, ids: list[int] | None = None) -> list[schemas.Pipeline]:
    where = "tenant_id = $1" + (" AND id = ANY($2::bigint[])" if ids is not None else "")
    rows = await fetch(
        f"SELECT id, name, is_default, created_at, updated_at FROM pipeline WHERE {where} ORDER BY position, id",
        scope.tenant_id,
        *([ids] if ids is not None else []),
    )
    stages = await fetch(_STAGES, scope.tenant_id, [r["id"] for r in rows])
    by_pipeline: dict[int, list[dict[str, Any]]] = {}
    for stage in stages:
        by_pipeline.setdefault(stage["pipeline_id"], []).append(stage)
    return [msgspec.convert({**row, "stages": by_pipeline.get(row["id"], [])}, schemas.Pipeline) for row in rows]


async def list_pipelines(scope: TenantScope) -> list[schemas.Pipeline]:
    """The tenant's pipelines (the default first… in their order) with their stages and open deals."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _pipelines(scope)


async def get_pipeline(scope: TenantScope, pipeline_id: int) -> schemas.Pipeline:
    """One pipeline (404 for other tenants' ids)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        found = await _pipelines(scope, [pipeline_id])
    if not found:
        raise ResourceNotFound("Pipeline not found", details={"pipeline_id": pipeline_id})
    return found[0]


async def create_pipeline(scope: TenantScope, data: schemas.PipelineCreate) -> schemas.Pipeline:
    """A new pipeline with its stages, in order (the `order` of each is its place in the list)."""
    policy.MANAGE_PIPELINES.require(scope)
    async with tenant_transaction(scope.tenant_id):
        if data.is_default:
            await fetch("UPDATE pipeline SET is_default = false WHERE tenant_id = $1 AND is_default", scope.tenant_id)
        stages = [(s.name.strip(), s.probability, s.wip_limit) for s in data.stages]
        pipeline_id = await _insert_pipeline(scope, data.name.strip(), stages, default=data.is_default)
        await emit(scope, Subject("pipeline", pipeline_id), "pipeline.created", audit={"name": data.name.strip()})
        return (await _pipelines(scope, [pipeline_id]))[0]


async def update_pipeline(scope: TenantScope, pipeline_id: int, data: schemas.PipelineUpdate) -> schemas.Pipeline:
    """Rename a pipeline, or make it the default."""
    policy.MANAGE_PIPELINES.require(scope)
    async with tenant_transaction(scope.tenant_id):
        current = await _pipeline_row(scope, pipeline_id, lock=True)
        changes: dict[str, tuple[Any, Any]] = {}
        if data.name is not msgspec.UNSET and data.name.strip() != current["name"]:
            changes["name"] = (current["name"], data.name.strip())
            await fetch(
                "UPDATE pipeline SET name = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
                scope.tenant_id,
                pipeline_id,
                data.name.strip(),
            )
        if data.is_default is True and not current["is_default"]:
            changes["is_default"] = (False, True)
            await fetch("UPDATE pipeline SET is_default = (id = $2), updated_at = now() WHERE tenant_id = $1", scope.tenant_id, pipeline_id)
        if changes:
            await emit(scope, Subject("pipeline", pipeline_id), "pipeline.updated", audit={k: list(v) for k, v in changes.items()})
        return (await _pipelines(scope, [pipeline_id]))[0]


async def delete_pipeline(scope: TenantScope, pipeline_id: int) -> None:
    """Delete a pipeline with no deals (the default cannot go: make another the default first)."""
    policy.MANAGE_PIPELINES.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await _lock_pipeline_stages(scope, pipeline_id)  # first, as every change of a stage's deals does
        current = await _pipeline_row(scope, pipeline_id, lock=True)
        if current["is_default"]:
            raise Conflict(
                "The default pipeline cannot be deleted; make another pipeline the default first",
                details={"pipeline_id": pipeline_id},
            )
        deals = await fetch("SELECT count(*) AS n FROM deal WHERE tenant_id = $1 AND pipeline_id = $2", scope.tenant_id, pipeline_id)
        if deals[0]["n"]:
            raise Conflict(
                f"The pipeline still has {deals[0]['n']} deals; move or delete them first",
                details={"pipeline_id": pipeline_id, "deals": deals[0]["n"]},
            )
        await fetch("DELETE FROM pipeline WHERE tenant_id = $1 AND id = $2", scope.tenant_id, pipeline_id)
        await emit(scope, Subject("pipeline", pipeline_id), "pipeline.deleted", audit={"name": current["name"]})


async def _pipeline_row(scope: TenantScope, pipeline_id: int, *, lock: bool = False) -> dict[str, Any]:
    # NO KEY UPDATE: a deal being created in the pipeline (its foreign key takes KEY SHARE) is not waited for.
    rows = await fetch(
        "SELECT * FROM pipeline WHERE tenant_id = $1 AND id = $2" + (" FOR NO KEY UPDATE" if lock else ""), scope.tenant_id, pipeline_id
    )
    if not rows:
        raise ResourceNotFound("Pipeline not found", details={"pipeline_id": pipeline_id})
    return rows[0]


async def _default_pipeline(scope: TenantScope) -> int:
    rows = await fetch("SELECT id FROM pipeline WHERE tenant_id = $1 ORDER BY is_default DESC, position, id LIMIT 1", scope.tenant_id)
    if not rows:
        await set_up_tenant(scope)
        return await _default_pipeline(scope)
    return int(rows[0]["id"])


async def _stage(scope: TenantScope, stage_id: int) -> schemas.Stage:
    rows = await fetch(
        _STAGES.replace("s.pipeline_id = ANY($2::bigint[])", "s.id = $2"),
        scope.tenant_id,
        stage_id,
    )
    if not rows:
        raise ResourceNotFound("Stage not found", details={"stage_id": stage_id})
    return msgspec.convert(rows[0], schemas.Stage)


async def get_stage(scope: TenantScope, stage_id: int) -> schemas.Stage:
    """One stage with its open deals' count and value."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _stage(scope, stage_id)


async def _lock_pipeline_stages(scope: TenantScope, pipeline_id: int) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT id, position FROM stage WHERE tenant_id = $1 AND pipeline_id = $2 ORDER BY id FOR UPDATE", scope.tenant_id, pipeline_id
    )


async def _place_stage(scope: TenantScope, pipeline_id: int, stage_id: int, wanted: int | None) -> None:
    """Put the stage at `wanted` (1-based; None or past the end: last) and renumber the pipeline's stages densely."""
    ordered = await fetch(
        "SELECT id FROM stage WHERE tenant_id = $1 AND pipeline_id = $2 AND id <> $3 ORDER BY position, id",
        scope.tenant_id,
        pipeline_id,
        stage_id,
    )
    ids = [r["id"] for r in ordered]
    place = len(ids) if wanted is None else max(0, min(wanted - 1, len(ids)))
    ids.insert(place, stage_id)
    await fetch(
        """UPDATE stage s SET position = o.n, updated_at = now() FROM unnest($2::bigint[]) WITH ORDINALITY AS o(id, n)
            WHERE s.tenant_id = $1 AND s.id = o.id AND s.position <> o.n""",
        scope.tenant_id,
        ids,
    )


async def create_stage(scope: TenantScope, pipeline_id: int, data: schemas.StageCreate) -> schemas.Stage:
    """Add a stage to a pipeline at `order` (last when left out)."""
    policy.MANAGE_PIPELINES.require(scope)
    async with tenant_transaction(scope.tenant_id):
        await _pipeline_row(scope, pipeline_id, lock=True)
        await _lock_pipeline_stages(scope, pipeline_id)
        rows = await fetch(
            """INSERT INTO stage (tenant_id, pipeline_id, name, position, wip_limit, probability, created_at, updated_at)
               VALUES ($1, $2, $3, 1000000, $4, $5, now(), now()) RETURNING id""",
            scope.tenant_id,
            pipeline_id,
            data.name.strip(),
            data.wip_limit,
            data.probability,
        )
        stage_id = int(rows[0]["id"])
        await _place_stage(scope, pipeline_id, stage_id, data.order)
        await emit(scope, Subject("stage", stage_id), "stage.created", audit={"name": data.name.strip(), "pipeline_id": pipeline_id})
        return await _stage(scope, stage_id)


async def update_stage(scope: TenantScope, stage_id: int, data: schemas.StageUpdate) -> schemas.Stage:
    """Rename, reorder, limit or re-weigh a stage. A WIP limit below the deals already in it is allowed
    (the stage shows as over its limit and takes no more)."""
    policy.MANAGE_PIPELINES.require(scope)
    async with tenant_transaction(scope.tenant_id):
        current = await _stage(scope, stage_id)
        await _lock_pipeline_stages(scope, current.pipeline_id)
        values: dict[str, Any] = {}
        if data.name is not msgspec.UNSET and data.name.strip() != current.name:
            values["name"] = data.name.strip()
        if data.wip_limit is not msgspec.UNSET and data.wip_limit != current.wip_limit:
            values["wip_limit"] = data.wip_limit
        if data.probability is not msgspec.UNSET and data.probability != current.probability:
            values["probability"] = data.probability
        if values:
            sets = ", ".join(f"{k} = ${i + 3}" for i, k in enumerate(values))
            await fetch(
                f"UPDATE stage SET {sets}, updated_at = now() WHERE tenant_id = $1 AND id = $2", scope.tenant_id, stage_id, *values.values()
            )
        if data.order is not msgspec.UNSET and data.order != current.order:
            await _place_stage(scope, current.pipeline_id, stage_id, data.order)
            values["order"] = data.order
        if values:
            await emit(scope, Subject("stage", stage_id), "stage.updated", audit=jsonable(values))
        return await _stage(scope, stage_id)


async def delete_stage(scope: TenantScope, stage_id: int, move_deals_to: int | None = None) -> None:
    """Delete a stage. Its deals (open or closed) must go somewhere first: without `move_deals_to` a stage
    holding deals answers 409 saying how many; with it, they move to the bottom of that stage of the same pipeline."""
    policy.MANAGE_PIPELINES.require(scope)
    async with tenant_transaction(scope.tenant_id):
        current = await _stage(scope, stage_id)
        stages = await _lock_pipeline_stages(scope, current.pipeline_id)
        if len(stages) == 1:
            raise Conflict("A pipeline keeps at least one stage", details={"stage_id": stage_id})
        held = (await fetch("SELECT count(*) AS n FROM deal WHERE tenant_id = $1 AND stage_id = $2", scope.tenant_id, stage_id))[0]["n"]
        if held and move_deals_to is None:
            raise Conflict(
                f"The stage still holds {held} deals; move them to another stage first (move_deals_to)",
                details={"stage_id": stage_id, "deals": held},
                human=f"“{current.name}” still holds {held} deals: choose a stage to move them to.",
            )
        if held:
            if move_deals_to == stage_id or move_deals_to not in {s["id"] for s in stages}:
                raise ValidationFailed(
                    "Invalid move_deals_to: another stage of the same pipeline",
                    details={"field": "move_deals_to", "provided": move_deals_to, "expected": "the id of another stage of this pipeline"},
                )
            # After the target's deals, in the order they had.
            bounds = await fetch(
                """SELECT (SELECT coalesce(max(rank), 0) FROM deal WHERE tenant_id = $1 AND stage_id = $3 AND status = 'open') AS top,
                          (SELECT coalesce(min(rank), 0) FROM deal WHERE tenant_id = $1 AND stage_id = $2 AND status = 'open') AS low""",
                scope.tenant_id,
                stage_id,
                move_deals_to,
            )
            await fetch(
                "UPDATE deal SET stage_id = $3, updated_at = now(), rank = rank + $4 WHERE tenant_id = $1 AND stage_id = $2",
                scope.tenant_id,
                stage_id,
                move_deals_to,
                bounds[0]["top"] - bounds[0]["low"] + RANK_STEP,
            )
        await fetch("DELETE FROM stage WHERE tenant_id = $1 AND id = $2", scope.tenant_id, stage_id)
        await _renumber_stages(scope, current.pipeline_id)
        await emit(scope, Subject("stage", stage_id), "stage.deleted", audit={"name": current.name, "deals_moved_to": move_deals_to})


async def _renumber_stages(scope: TenantScope, pipeline_id: int) -> None:
    """Close the gap a deleted stage left: the pipeline's stages numbered 1…n again, in their order."""
    await fetch(
        """UPDATE stage s SET position = o.n FROM (
               SELECT id, row_number() OVER (ORDER BY position, id) AS n FROM stage WHERE tenant_id = $1 AND pipeline_id = $2) o
            WHERE s.id = o.id AND s.position <> o.n""",
        scope.tenant_id,
        pipeline_id,
    )


# --------------------------------------------------------------------------- deals

_DEAL = """
SELECT d.id, d.tenant_id, d.title, d.value, d.currency, d.pipeline_id, d.stage_id, s.name AS stage_name,
       CASE WHEN d.status = 'open' THEN (SELECT count(*) FROM deal o WHERE o.tenant_id = d.tenant_id AND o.stage_id = d.stage_id
                                           AND o.status = 'open' AND o.rank <= d.rank) END AS position, d.status,
       d.lost_reason, d.owner_id, u.full_name AS owner_name, d.contact_id, c.name AS contact_name, d.company_id, d.lead_id,
       d.property_id, d.expected_close_date, coalesce(d.probability, s.probability) AS probability, d.notes,
       coalesce((SELECT array_agg(w.user_id ORDER BY w.user_id) FROM deal_watcher w WHERE w.tenant_id = d.tenant_id AND w.deal_id = d.id),
                '{}') AS watchers,
       d.closed_at, d.last_activity_at, d.created_at, d.updated_at
  FROM deal d JOIN stage s ON s.id = d.stage_id AND s.tenant_id = d.tenant_id
  LEFT JOIN app_user u ON u.id = d.owner_id AND u.tenant_id = d.tenant_id
  LEFT JOIN contact c ON c.id = d.contact_id AND c.tenant_id = d.tenant_id
"""


async def _deal_row(scope: TenantScope, deal_id: int, *, lock: bool = False) -> dict[str, Any]:
    if lock:
        # Its own statement: FOR UPDATE on the joined read would recheck the join against the stage row of before a
        # concurrent move, and lose the deal (the lock waits, then the moved row no longer meets the old stage).
        await fetch("SELECT 1 FROM deal WHERE tenant_id = $1 AND id = $2 FOR UPDATE", scope.tenant_id, deal_id)
    rows = await fetch(_DEAL + " WHERE d.tenant_id = $1 AND d.id = $2", scope.tenant_id, deal_id)
    if not rows:
        raise ResourceNotFound("Deal not found", details={"deal_id": deal_id})
    return rows[0]


def _deal(row: dict[str, Any]) -> schemas.Deal:
    return msgspec.convert({**row, "watchers": list(row["watchers"] or [])}, schemas.Deal)


async def get_deal(scope: TenantScope, deal_id: int) -> schemas.Deal:
    """One deal (404 for other tenants' ids)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return _deal(await _deal_row(scope, deal_id))


def _filter_sql(scope: TenantScope, filters: DealFilters) -> tuple[str, list[Any]]:
    args: list[Any] = [scope.tenant_id]
    clauses = ["d.tenant_id = $1"]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    for name in ("stage_id", "pipeline_id", "owner_id", "status", "contact_id", "lead_id"):
        value = getattr(filters, name)
        if value is not None:
            add(f"d.{name} = ?", value)
    if filters.value_min is not None:
        add("d.value >= ?", filters.value_min)
    if filters.value_max is not None:
        add("d.value <= ?", filters.value_max)
    if filters.close_after is not None:
        add("d.expected_close_date >= ?", filters.close_after)
    if filters.close_before is not None:
        add("d.expected_close_date <= ?", filters.close_before)
    if filters.q:
        add("(d.title || ' ' || coalesce(c.name, '')) ILIKE ?", like_pattern(filters.q))
    return " AND ".join(clauses), args


async def list_deals(scope: TenantScope, filters: DealFilters, query: ListQuery) -> Page[schemas.Deal]:
    """A page of deals matching the filters."""
    policy.VIEW.require(scope)
    order = sort_order(query.sort, SORTS, "-created_at")
    where, args = _filter_sql(scope, filters)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            f"{_DEAL} WHERE {where} ORDER BY {order.sql(tiebreak='d.id', nulls_last=order.field in NULLABLE_SORTS)} "
            f"LIMIT {query.limit} OFFSET {query.offset}",
            *args,
        )
        if 0 < len(rows) < query.limit or (not rows and query.offset == 0):
            total = query.offset + len(rows)
        else:
            total = int(
                (await fetch(f"SELECT count(*) AS n FROM deal d LEFT JOIN contact c ON c.id = d.contact_id WHERE {where}", *args))[0]["n"]
            )
    return page_of(schemas.Deal, [{**r, "watchers": list(r["watchers"] or [])} for r in rows], query, total)


async def _check_reference(scope: TenantScope, table: str, field: str, value: int | None, what: str) -> None:
    if value is not None and not await fetch(f"SELECT 1 FROM {table} WHERE tenant_id = $1 AND id = $2", scope.tenant_id, value):
        raise _unknown(field, value, f"the id of one of your {what}s")


async def _check_owner(scope: TenantScope, owner_id: int | None) -> None:
    if owner_id is None:
        return
    rows = await fetch("SELECT role, is_active FROM app_user WHERE tenant_id = $1 AND id = $2", scope.tenant_id, owner_id)
    if not rows or not rows[0]["is_active"] or not policy.can_own(rows[0]["role"]):
        raise ValidationFailed(
            "Invalid owner_id: an active admin, manager or agent of your tenant",
            details={
                "field": "owner_id",
                "provided": owner_id,
                "expected": "the id of an active admin, manager or agent",
                "reason": "unknown_reference",
            },
            human="Choose someone who works deals",
        )
    policy.ASSIGN.require(scope, owner_id)


def _check_money(value: Decimal | None) -> None:
    checked_money("value", value, human="The value must be a positive amount with at most 2 decimals")


async def _lock_stages(scope: TenantScope, *stage_ids: int) -> dict[int, dict[str, Any]]:
    """Lock the stages a change of positions touches (in id order, so concurrent changes never deadlock)."""
    rows = await fetch(
        "SELECT id, pipeline_id, name, wip_limit FROM stage WHERE tenant_id = $1 AND id = ANY($2::bigint[]) ORDER BY id FOR UPDATE",
        scope.tenant_id,
        sorted(set(stage_ids)),
    )
    return {r["id"]: r for r in rows}


class _Moved(Exception):
    """The deal changed stage between reading and locking it: start again with the right stages locked."""


async def _locking_deal(
    scope: TenantScope, deal_id: int, work: Callable[[dict[str, Any], dict[int, dict[str, Any]]], Awaitable[T]], *targets: int
) -> T:
    """Run `work(deal, stages)` in a tenant transaction holding the locks of the deal's stage and of `targets`
    (in id order), then of the deal. Every change of positions takes its locks in that order, so concurrent
    ones wait for each other and never deadlock; a deal that moved meanwhile is tried again."""
    for _ in range(8):
        try:
            async with tenant_transaction(scope.tenant_id):
                before = await fetch("SELECT stage_id FROM deal WHERE tenant_id = $1 AND id = $2", scope.tenant_id, deal_id)
                if not before:
                    raise ResourceNotFound("Deal not found", details={"deal_id": deal_id})
                stages = await _lock_stages(scope, before[0]["stage_id"], *targets)
                current = await _deal_row(scope, deal_id, lock=True)
                if current["stage_id"] != before[0]["stage_id"]:
                    raise _Moved
                return await work(current, stages)
        except _Moved:
            continue
    raise Conflict("The deal is being moved by someone else; try again", details={"deal_id": deal_id})


async def _open_in(scope: TenantScope, stage_id: int) -> int:
    rows = await fetch(
        "SELECT count(*) AS n FROM deal WHERE tenant_id = $1 AND stage_id = $2 AND status = 'open'", scope.tenant_id, stage_id
    )
    return int(rows[0]["n"])


async def _bottom_rank(scope: TenantScope, stage_id: int) -> int:
    """A rank after every open deal of the stage."""
    rows = await fetch(
        "SELECT coalesce(max(rank), 0) + $3 AS r FROM deal WHERE tenant_id = $1 AND stage_id = $2 AND status = 'open'",
        scope.tenant_id,
        stage_id,
        RANK_STEP,
    )
    return int(rows[0]["r"])


async def _rank_at(scope: TenantScope, stage_id: int, position: int, deal_id: int) -> int:
    """A rank that puts deal `deal_id` at `position` (1-based) among the stage's other open deals: between its
    new neighbours', after renumbering the stage when they leave no room. Call with the stage locked."""
    for _ in range(2):
        others = "tenant_id = $1 AND stage_id = $2 AND status = 'open' AND id <> $3"
        if position <= 1:
            rows = await fetch(f"SELECT rank FROM deal WHERE {others} ORDER BY rank LIMIT 1", scope.tenant_id, stage_id, deal_id)
            return int(rows[0]["rank"]) - RANK_STEP if rows else RANK_STEP
        rows = await fetch(
            f"SELECT rank FROM deal WHERE {others} ORDER BY rank OFFSET $4 LIMIT 2", scope.tenant_id, stage_id, deal_id, position - 2
        )
        if not rows:
            return await _bottom_rank(scope, stage_id)
        if len(rows) == 1:
            return int(rows[0]["rank"]) + RANK_STEP
        before, after = int(rows[0]["rank"]), int(rows[1]["rank"])
        if after - before >= 2:
            return (before + after) // 2
        await fetch(
            """UPDATE deal d SET rank = o.n * $3 FROM (
                   SELECT id, row_number() OVER (ORDER BY rank) AS n FROM deal WHERE tenant_id = $1 AND stage_id = $2 AND status = 'open') o
                WHERE d.id = o.id""",
            scope.tenant_id,
            stage_id,
            RANK_STEP,
        )
    raise RuntimeError("no room between two ranks after renumbering the stage")  # pragma: no cover - renumbering makes room


def _require_stage_of(deal: dict[str, Any], stages: dict[int, dict[str, Any]], stage_id: int) -> None:
    """A deal moves only to a stage of its own pipeline (another pipeline's, or another tenant's, is unknown here)."""
    if stage_id not in stages or stages[stage_id]["pipeline_id"] != deal["pipeline_id"]:
        raise ValidationFailed(
            "Invalid stage_id: a stage of the deal's pipeline",
            details={
                "field": "stage_id",
                "provided": stage_id,
                "expected": "the id of a stage of this pipeline",
                "reason": "unknown_reference",
            },
        )


def _wip_refusal(stage: dict[str, Any], held: int) -> WipLimitReached:
    limit = stage["wip_limit"]
    return WipLimitReached(
        f"Stage '{stage['name']}' is at its WIP limit of {limit} open deals",
        details={"stage_id": stage["id"], "wip_limit": limit, "open_deals": held},
        human=f"“{stage['name']}” already holds {held} of its {limit} deals.",
    )


async def create_deal(scope: TenantScope, data: schemas.DealCreate) -> schemas.Deal:
    """A new open deal at the bottom of its stage (a full stage refuses it: 409 WIP_LIMIT_REACHED)."""
    policy.CREATE.require(scope)
    _check_money(data.value)
    owner_id = data.owner_id if data.owner_id is not None else policy.default_owner(scope)
    async with tenant_transaction(scope.tenant_id):
        await _check_owner(scope, owner_id)
        await _check_reference(scope, "contact", "contact_id", data.contact_id, "contact")
        await _check_reference(scope, "company", "company_id", data.company_id, "company")
        await _check_reference(scope, "lead", "lead_id", data.lead_id, "lead")
        stage_id = await _starting_stage(scope, data.pipeline_id, data.stage_id)
        deal_id = await _insert_deal(scope, stage_id, data, owner_id)
        deal = _deal(await _deal_row(scope, deal_id))
        await emit(scope, _subject(deal), "created", f"Deal created in {deal.stage_name}", events=[("deal.created", _payload(deal))])
        return deal


async def _starting_stage(scope: TenantScope, pipeline_id: int | None, stage_id: int | None) -> int:
    if stage_id is not None:
        rows = await fetch("SELECT pipeline_id FROM stage WHERE tenant_id = $1 AND id = $2", scope.tenant_id, stage_id)
        if not rows or (pipeline_id is not None and rows[0]["pipeline_id"] != pipeline_id):
            raise ValidationFailed(
                "Invalid stage_id: a stage of your pipeline",
                details={
                    "field": "stage_id",
                    "provided": stage_id,
                    "expected": "the id of a stage (of pipeline_id, when given)",
                    "reason": "unknown_reference",
                },
            )
        return stage_id
    if pipeline_id is None:
        pipeline_id = await _default_pipeline(scope)
    rows = await fetch(
        "SELECT id FROM stage WHERE tenant_id = $1 AND pipeline_id = $2 ORDER BY position LIMIT 1", scope.tenant_id, pipeline_id
    )
    if not rows:
        raise ValidationFailed(
            "Invalid pipeline_id: one of your pipelines",
            details={
                "field": "pipeline_id",
                "provided": pipeline_id,
                "expected": "the id of one of your pipelines",
                "reason": "unknown_reference",
            },
        )
    return int(rows[0]["id"])


async def _insert_deal(scope: TenantScope, stage_id: int, data: schemas.DealCreate, owner_id: int | None) -> int:
    locked = await _lock_stages(scope, stage_id)
    if stage_id not in locked:  # deleted since it was chosen
        raise _unknown("stage_id", stage_id, "the id of one of your stages")
    stage = locked[stage_id]
    held = await _open_in(scope, stage_id)
    if stage["wip_limit"] is not None and held >= stage["wip_limit"]:
        raise _wip_refusal(stage, held)
    rows = await fetch(
        """INSERT INTO deal (tenant_id, pipeline_id, stage_id, rank, title, value, currency, owner_id, contact_id, company_id,
                             lead_id, status, expected_close_date, probability, notes, last_activity_at, created_by, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $13, $14, now(), $15, now(), now()) RETURNING id""",
        scope.tenant_id,
        stage["pipeline_id"],
        stage_id,
        await _bottom_rank(scope, stage_id),
        data.title.strip(),
        data.value if data.value is not None else Decimal(0),
        data.currency,
        owner_id,
        data.contact_id,
        data.company_id,
        data.lead_id,
        data.expected_close_date,
        data.probability,
        data.notes,
        scope.user_id,
    )
    return int(rows[0]["id"])


_EDITABLE = ("title", "value", "currency", "owner_id", "contact_id", "company_id", "expected_close_date", "probability", "notes")


async def update_deal(scope: TenantScope, deal_id: int, data: schemas.DealUpdate, *, if_match: str | None = None) -> schemas.Deal:
    """Change a deal; a new `stage_id` puts it at the bottom of that stage, `status` won/lost closes it (lost
    needs a reason) and open reopens it. Every change lands on its timeline and tells its watchers."""
    policy.EDIT.require(scope)
    values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    if isinstance(values.get("title"), str):
        values["title"] = values["title"].strip()
    _check_money(values.get("value"))

    async def change(current: dict[str, Any], stages: dict[int, dict[str, Any]]) -> schemas.Deal:
        policy.EDIT.require(scope, current)
        require_current(if_match, _deal(current))
        changes: dict[str, tuple[Any, Any]] = {}
        for name in _EDITABLE:
            if name in values and values[name] != current[name]:
                changes[name] = (current[name], values[name])
        if "owner_id" in changes:
            await _check_owner(scope, changes["owner_id"][1])
        for ref, table in (("contact_id", "contact"), ("company_id", "company")):
            if ref in changes:
                await _check_reference(scope, table, ref, changes[ref][1], table)
        status = values.get("status", current["status"])
        reason = values.get("lost_reason", current["lost_reason"]) if status == "lost" else None
        if status == "lost" and not reason:
            raise ValidationFailed(
                "Invalid lost_reason: a lost deal needs a reason",
                details={"field": "lost_reason", "provided": None, "expected": "why the deal was lost"},
                human="Say why the deal was lost",
            )
        target = values.get("stage_id", current["stage_id"])
        _require_stage_of(current, stages, target)
        placed: dict[str, int | None] = {}
        if target != current["stage_id"] or status != current["status"]:
            # Leave the old place (if it was open), take one at the bottom of the target (if it stays open).
            placed["rank"] = None
            if status == "open":
                held = await _open_in(scope, target) - (1 if current["status"] == "open" and target == current["stage_id"] else 0)
                if stages[target]["wip_limit"] is not None and held >= stages[target]["wip_limit"]:
                    raise _wip_refusal(stages[target], held)
                placed["rank"] = await _bottom_rank(scope, target)
            if target != current["stage_id"]:
                changes["stage_id"] = (current["stage_id"], target)
            if status != current["status"]:
                changes["status"] = (current["status"], status)
        if status == "lost" and reason != current["lost_reason"]:
            changes["lost_reason"] = (current["lost_reason"], reason)
        if not changes:
            return _deal(current)
        sets = {k: v[1] for k, v in changes.items()}
        sets.update(placed)
        sets["lost_reason"] = reason
        if "status" in changes:
            sets["closed_at"] = datetime.now(UTC) if status != "open" else None
        assignments = ", ".join(f"{k} = ${i + 3}" for i, k in enumerate(sets))
        await fetch(
            f"UPDATE deal SET {assignments}, updated_at = now(), last_activity_at = now() WHERE tenant_id = $1 AND id = $2",
            scope.tenant_id,
            deal_id,
            *sets.values(),
        )
        deal = _deal(await _deal_row(scope, deal_id))
        await _record_change(scope, current, deal, changes, stages)
        return deal

    return await _locking_deal(scope, deal_id, change, *([values["stage_id"]] if "stage_id" in values else []))


async def _record_change(
    scope: TenantScope, before: dict[str, Any], deal: schemas.Deal, changes: dict[str, tuple[Any, Any]], stages: dict[int, dict[str, Any]]
) -> None:
    """The timeline entry, the events (deal.updated with old/new stage as §8.1; deal.won, deal.lost) and the watchers' notes."""
    parts = []
    if "stage_id" in changes:
        parts.append(f"Stage {stages[changes['stage_id'][0]]['name']} → {stages[changes['stage_id'][1]]['name']}")
    if "status" in changes:
        parts.append({"won": "Won", "lost": f"Lost: {deal.lost_reason}", "open": "Reopened"}[deal.status])
    others = sorted(k for k in changes if k not in ("stage_id", "status", "lost_reason"))
    if others:
        parts.append("Changed " + ", ".join(others))
    summary = "; ".join(parts)
    data = {**_payload(deal), "changed_fields": sorted(changes), "changed_by": _changed_by(scope), "changed_by_name": scope.actor}
    if "stage_id" in changes:
        data["old_stage"] = stages[changes["stage_id"][0]]["name"]
        data["new_stage"] = stages[changes["stage_id"][1]]["name"]
    events: list[tuple[str, dict[str, Any]]] = [("deal.updated", data)]
    if changes.get("status", (None, None))[1] in ("won", "lost"):
        events.append((f"deal.{deal.status}", _payload(deal)))
    await emit(scope, _subject(deal), "updated", summary, changes, events=events)
    await _tell_watchers(scope, deal, summary)


def _changed_by(scope: TenantScope) -> int | None:
    """Who made a change, as the guide's §8.1 payload has it: a user id (None for an integration or a job)."""
    return scope.user_id


async def _tell_watchers(scope: TenantScope, deal: schemas.Deal, what: str) -> None:
    others = [w for w in deal.watchers if w != scope.user_id]
    await notifications.tell(scope.tenant_id, others, f"/pipeline?deal={deal.id}", f"{deal.title}: {what}"[:500], "deal.changed")


async def move_deal(scope: TenantScope, deal_id: int, move: schemas.DealMove) -> schemas.Deal:
    """Put an open deal at `position` (1 = top) of `stage_id`: it takes a rank between its new neighbours'.

    Positions stay dense and unique under concurrent moves (stages locked in id order, then the deal). A
    stage at its WIP limit refuses a deal from elsewhere (409 WIP_LIMIT_REACHED) unless an admin or a manager
    overrides it, which the timeline records.
    """
    policy.EDIT.require(scope)

    async def place(current: dict[str, Any], stages: dict[int, dict[str, Any]]) -> schemas.Deal:
        policy.EDIT.require(scope, current)
        _require_stage_of(current, stages, move.stage_id)
        if current["status"] != "open":
            raise Conflict(
                f"Only open deals are on the board; this one is {current['status']}",
                details={"deal_id": deal_id, "status": current["status"]},
                human="This deal is closed: reopen it to put it back on the board.",
            )
        source, target, old = current["stage_id"], move.stage_id, current["position"]
        overridden = False
        held = await _open_in(scope, target)
        if target == source:
            new = max(1, min(move.position, held))
            if new == old:
                return _deal(current)
        else:
            limit = stages[target]["wip_limit"]
            if limit is not None and held >= limit:
                if not move.override:
                    raise _wip_refusal(stages[target], held)
                policy.OVERRIDE_WIP.require(scope)
                overridden = True
            new = max(1, min(move.position, held + 1))
        rank = await _rank_at(scope, target, new, deal_id)
        await fetch(
            "UPDATE deal SET stage_id = $3, rank = $4, updated_at = now(), last_activity_at = now() WHERE tenant_id = $1 AND id = $2",
            scope.tenant_id,
            deal_id,
            target,
            rank,
        )
        deal = _deal(await _deal_row(scope, deal_id))
        if target == source:
            await emit(
                scope,
                _subject(deal),
                "reordered",
                events=[("deal.reordered", {"deal_id": deal.id, "stage_id": target, "position": new, "changed_by": _changed_by(scope)})],
            )
            return deal
        changes = {"stage_id": (source, target)}
        await _record_change(scope, current, deal, changes, stages)
        if overridden:
            await emit(
                scope,
                _subject(deal),
                "wip_overridden",
                f"Moved past the WIP limit of {stages[target]['name']} ({stages[target]['wip_limit']})",
                audit={"stage_id": target, "wip_limit": stages[target]["wip_limit"]},
            )
        return deal

    return await _locking_deal(scope, deal_id, place, move.stage_id)


async def delete_deal(scope: TenantScope, deal_id: int) -> None:
    """Delete a deal (its stage closes up). Audited."""
    policy.DELETE.require(scope)

    async def remove(current: dict[str, Any], _: dict[int, dict[str, Any]]) -> None:
        await fetch("DELETE FROM deal WHERE tenant_id = $1 AND id = $2", scope.tenant_id, deal_id)
        await emit(
            scope,
            Subject("deal", deal_id),
            "deleted",
            audit={"title": current["title"]},
            events=[("deal.deleted", {"deal_id": deal_id, "organization_id": scope.tenant_id, "title": current["title"]})],
        )
        await fetch("DELETE FROM activity WHERE tenant_id = $1 AND subject_type = 'deal' AND subject_id = $2", scope.tenant_id, deal_id)

    await _locking_deal(scope, deal_id, remove)


async def add_watcher(scope: TenantScope, deal_id: int, user_id: int) -> schemas.Deal:
    """Someone of the tenant watches the deal (agents add only themselves to deals they cannot change)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        current = await _deal_row(scope, deal_id, lock=True)
        if user_id != scope.user_id:
            policy.EDIT.require(scope, current)
        rows = await fetch("SELECT full_name, is_active FROM app_user WHERE tenant_id = $1 AND id = $2", scope.tenant_id, user_id)
        if not rows or not rows[0]["is_active"]:
            raise _unknown("user_id", user_id, "the id of an active user of your tenant")
        added = await fetch(
            "INSERT INTO deal_watcher (tenant_id, deal_id, user_id, created_at) VALUES ($1, $2, $3, now()) "
            "ON CONFLICT DO NOTHING RETURNING id",
            scope.tenant_id,
            deal_id,
            user_id,
        )
        deal = _deal(await _deal_row(scope, deal_id))
        if added:
            await emit(
                scope,
                _subject(deal),
                "watcher_added",
                f"{rows[0]['full_name']} watches this deal",
                events=[("deal.watcher_added", {**_payload(deal), "user_id": user_id, "changed_by": _changed_by(scope)})],
            )
            if user_id != scope.user_id:
                await notifications.tell(
                    scope.tenant_id, [user_id], f"/pipeline?deal={deal.id}", f"You now watch {deal.title}", "deal.watching"
                )
        return deal


async def remove_watcher(scope: TenantScope, deal_id: int, user_id: int) -> None:
    """Stop someone watching the deal (anyone may stop watching; others need the right to change the deal)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        current = await _deal_row(scope, deal_id, lock=True)
        if user_id != scope.user_id:
            policy.EDIT.require(scope, current)
        removed = await fetch(
            "DELETE FROM deal_watcher WHERE tenant_id = $1 AND deal_id = $2 AND user_id = $3 RETURNING id",
            scope.tenant_id,
            deal_id,
            user_id,
        )
        if not removed:
            raise ResourceNotFound("This person does not watch the deal", details={"deal_id": deal_id, "user_id": user_id})
        await emit(scope, Subject("deal", deal_id), "watcher_removed", "Stopped watching", {"watcher": (user_id, None)})


async def deal_timeline(scope: TenantScope, deal_id: int, query: ListQuery) -> Page[TimelineEntry]:
    """The deal's timeline, newest first."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        deal = await _deal_row(scope, deal_id)
        return await read_timeline(scope, query, subject=Subject("deal", deal_id, contact_id=deal["contact_id"]))


async def convert_lead(scope: TenantScope, lead_id: int, data: schemas.ConvertLead) -> schemas.Deal:
    """Turn a lead into a deal linked to it (and to its contact and company); the lead's status moves on
    (NEGOTIATING unless said otherwise) in the same transaction."""
    policy.CREATE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        lead = await leads.get_lead(scope, lead_id, base_url())
        await fetch(
            "SELECT 1 FROM lead WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE", scope.tenant_id, lead_id
        )  # one convert at a time
        existing = await fetch(
            "SELECT id FROM deal WHERE tenant_id = $1 AND lead_id = $2 AND status = 'open' LIMIT 1", scope.tenant_id, lead_id
        )
        if existing:
            raise Conflict(
                f"The lead already has an open deal: #{existing[0]['id']}",
                details={"lead_id": lead_id, "existing_deal_id": existing[0]["id"]},
                human="This lead already has an open deal.",
            )
        value = data.value if data.value is not None else (lead.budget_max or lead.budget_min or Decimal(0))
        create = schemas.DealCreate(
            title=data.title or f"{lead.name} — {(lead.property_type or 'property').lower()} {(lead.transaction_type or 'deal').lower()}",
            value=value,
            currency=data.currency or lead.budget_currency,
            pipeline_id=data.pipeline_id,
            stage_id=data.stage_id,
            owner_id=data.owner_id if data.owner_id is not None else (lead.agent_id or policy.default_owner(scope)),
            contact_id=lead.contact_id,
            company_id=lead.company_id,
            lead_id=lead_id,
        )
        deal = await create_deal(scope, create)
        if lead.status != data.lead_status and lead.status not in ("WON", "LOST"):
            await leads.update_lead(scope, lead_id, LeadUpdate(status=data.lead_status), base_url())
        await emit(scope, Subject("lead", lead_id, contact_id=lead.contact_id), "converted", f"Converted to deal #{deal.id}: {deal.title}")
        return deal


# --------------------------------------------------------------------------- the board


# A card's columns, from `d` (open deals with their `position`), `c` (contact) and `u` (owner).
_CARD = f"""d.id, d.title, d.value, d.currency, d.owner_id, u.full_name AS owner_name, d.contact_id, c.name AS contact_name,
            d.stage_id, d.position, d.status, d.expected_close_date, d.last_activity_at, d.created_at,
            d.last_activity_at < now() - make_interval(days => {STALE_AFTER_DAYS}) AS stale"""


async def board(scope: TenantScope, pipeline_id: int | None, filters: DealFilters, *, per_stage: int = COLUMN_PAGE) -> schemas.Board:
    """A pipeline's stages in order, each with its count, total value and first `per_stage` open deals
    (filtered by owner, value and text when asked; counts and totals are of the filtered deals)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        if pipeline_id is None:
            pipeline_id = await _default_pipeline(scope)
        found = await fetch("SELECT name FROM pipeline WHERE tenant_id = $1 AND id = $2", scope.tenant_id, pipeline_id)
        if not found:
            raise _unknown("pipeline_id", pipeline_id, "the id of one of your pipelines")
        pipeline = found[0]
        stages = await fetch(
            'SELECT id, name, position AS "order", wip_limit, probability FROM stage '
            "WHERE tenant_id = $1 AND pipeline_id = $2 ORDER BY position",
            scope.tenant_id,
            pipeline_id,
        )
        where, args = _filter_sql(scope, replace(filters, pipeline_id=pipeline_id, status="open"))
        # What WIP limits count: every open deal of each stage (the filtered totals below, when nothing filters).
        held = (
            await fetch(
                "SELECT stage_id, count(*) AS n FROM deal WHERE tenant_id = $1 AND stage_id = ANY($2::bigint[]) AND status = 'open' "
                "GROUP BY stage_id",
                scope.tenant_id,
                [st["id"] for st in stages],
            )
            if filters != DealFilters()
            else None
        )
        totals = await fetch(
            f"SELECT d.stage_id, count(*) AS n, coalesce(sum(d.value), 0) AS total FROM deal d LEFT JOIN contact c ON c.id = d.contact_id "
            f"WHERE {where} GROUP BY d.stage_id",
            *args,
        )
        # Positions are of every open deal of the stage (a filtered board still shows each card's true place).
        cards = await fetch(
            f"""WITH d AS (SELECT deal.*, row_number() OVER (PARTITION BY stage_id ORDER BY rank) AS position FROM deal
                            WHERE tenant_id = $1 AND pipeline_id = ${len(args) + 1} AND status = 'open')
                SELECT * FROM (
                   SELECT {_CARD}, row_number() OVER (PARTITION BY d.stage_id ORDER BY d.rank) AS nth
                     FROM d LEFT JOIN contact c ON c.id = d.contact_id AND c.tenant_id = d.tenant_id
                     LEFT JOIN app_user u ON u.id = d.owner_id AND u.tenant_id = d.tenant_id
                    WHERE {where}) ranked
                 WHERE nth <= {per_stage + 1} ORDER BY stage_id, position""",
            *args,
            pipeline_id,
        )
    by_stage: dict[int, list[dict[str, Any]]] = {}
    for card in cards:
        by_stage.setdefault(card["stage_id"], []).append(card)
    counted = {t["stage_id"]: t for t in totals}
    holding = {h["stage_id"]: h["n"] for h in held} if held is not None else {t["stage_id"]: t["n"] for t in totals}
    columns = []
    for stage in stages:
        mine = by_stage.get(stage["id"], [])
        columns.append(
            {
                **stage,
                "count": counted[stage["id"]]["n"] if stage["id"] in counted else 0,
                "open_deals": holding.get(stage["id"], 0),
                "total_value": counted[stage["id"]]["total"] if stage["id"] in counted else Decimal(0),
                "deals": mine[:per_stage],
                "has_more": len(mine) > per_stage,
            }
        )
    return msgspec.convert(
        {"pipeline_id": pipeline_id, "pipeline_name": pipeline["name"], "stale_after_days": STALE_AFTER_DAYS, "stages": columns},
        schemas.Board,
    )


async def column(
    scope: TenantScope, stage_id: int, filters: DealFilters, *, after: int, limit: int = COLUMN_PAGE
) -> tuple[list[schemas.BoardDeal], bool]:
    """The open cards of a stage after the first `after` of them (as filtered), for a column that scrolls."""
    policy.VIEW.require(scope)
    where, args = _filter_sql(scope, replace(filters, stage_id=stage_id, status="open"))
    async with tenant_transaction(scope.tenant_id):
        await _stage(scope, stage_id)
        rows = await fetch(
            f"""WITH d AS (SELECT deal.*, row_number() OVER (ORDER BY rank) AS position FROM deal
                            WHERE tenant_id = $1 AND stage_id = ${len(args) + 1} AND status = 'open')
                SELECT {_CARD} FROM d LEFT JOIN contact c ON c.id = d.contact_id AND c.tenant_id = d.tenant_id
                  LEFT JOIN app_user u ON u.id = d.owner_id AND u.tenant_id = d.tenant_id
                 WHERE {where} ORDER BY d.rank OFFSET {int(after)} LIMIT {limit + 1}""",
            *args,
            stage_id,
        )
    return [msgspec.convert(r, schemas.BoardDeal) for r in rows[:limit]], len(rows) > limit


# --------------------------------------------------------------------------- events


def _subject(deal: schemas.Deal) -> Subject:
    return Subject("deal", deal.id, contact_id=deal.contact_id)


def deal_url(deal_id: int) -> str:
    """Where a person opens the deal (the board with its panel open)."""
    return f"{base_url()}/pipeline?deal={deal_id}"


def _payload(deal: schemas.Deal) -> dict[str, Any]:
    """The `data` of deal events."""
    body = {k: jsonable(v) for k, v in msgspec.to_builtins(deal).items() if k not in ("id", "tenant_id")}
    return {"deal_id": deal.id, "organization_id": deal.tenant_id, **body, "value": str(deal.value), "url": deal_url(deal.id)}
