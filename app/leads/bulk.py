"""Bulk actions over every lead a list's filters match ("select all N matching"), not only a page's ticked rows.

Up to BACKGROUND_FROM leads the change is made at once, in one transaction. Beyond, it is a
`lead_bulk_operation` row and a SAQ job keyed by that row: the job walks the frozen selection
(the filters, and leads up to the newest id when it was asked for) in id order, a batch per
transaction, each lead's change with its timeline entry and outbox events, and the batch's place
(`last_id`) and counts committed with it, so a retry resumes where the last attempt stopped and
never changes a lead twice. Its progress is `app.jobs.progress` (kind "lead_bulk"), live on the
operation's page.

The job acts as the person who asked, with their role as it is when it runs: an agent's "all
matching" changes only the leads they may edit (the others are counted as left alone), and a
person deactivated meanwhile changes nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import msgspec
from saq import Queue
from saq.types import Context

from app.accounts.tables import User
from app.core.errors import ResourceNotFound, ValidationFailed
from app.core.jobs import job
from app.db import TenantScope, fetch, tenant_transaction
from app.jobs import progress
from app.leads import policy
from app.leads.service import LeadFilters, _check_agent, _locked_live, _where, assign_rows, delete_rows, lead_source
from app.leads.tables import LeadBulkOperation

BulkAction = Literal["assign", "delete"]
ACTIONS: tuple[BulkAction, ...] = ("assign", "delete")
# More matching leads than this: the change runs as a job with a progress page.
BACKGROUND_FROM = 200
BATCH = 200
KIND = "lead_bulk"  # its job's kind in job_progress


class BulkOperationView(msgspec.Struct, kw_only=True):
    """A bulk action over matching leads, and how far it got."""

    id: int
    action: str
    agent_id: int | None
    status: str
    total: int
    processed: int
    changed: int
    skipped: int
    error: str
    created_at: datetime
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """What asking for a bulk action did: changed at once (`operation` None), or started a job (`operation`)."""

    changed: int = 0
    skipped: int = 0
    operation: BulkOperationView | None = None


def _check_action(scope: TenantScope, action: str) -> BulkAction:
    if action not in ACTIONS:
        raise ValidationFailed("Choose an action", details={"field": "action", "provided": action, "expected": "assign or delete"})
    if action == "delete":
        policy.DELETE.require(scope)
    else:
        policy.EDIT.require(scope)
    return action  # type: ignore[return-value]


async def _matching_ids(filters: LeadFilters, scope: TenantScope, after: int, upto: int, limit: int) -> list[int]:
    """Ids of live leads matching the filters in (after, upto], in id order (inside the tenant transaction)."""
    where, args = _where(scope, filters)
    source = await lead_source(filters)
    rows = await fetch(
        f"SELECT id FROM {source} WHERE {where} AND id > ${len(args) + 1} AND id <= ${len(args) + 2} ORDER BY id LIMIT {limit}",
        *args,
        after,
        upto,
    )
    return [r["id"] for r in rows]


async def _apply(scope: TenantScope, action: BulkAction, agent_id: int | None, ids: list[int]) -> tuple[int, int]:
    """Change these leads (those still live; an agent's only where they may edit): (changed, left as they were)."""
    rows = await _locked_live(scope, ids)
    allowed = [r for r in rows if action == "delete" or policy.EDIT.allows(scope, r)]
    changed = await (delete_rows(scope, allowed) if action == "delete" else assign_rows(scope, allowed, agent_id))
    return changed, len(ids) - changed


async def bulk_matching(scope: TenantScope, filters: LeadFilters, action: str, agent_id: int | None, queue: Queue) -> BulkOutcome:
    """Assign or delete every lead the filters match: at once up to BACKGROUND_FROM leads, else as a job."""
    checked = _check_action(scope, action)
    if filters.deleted:
        raise ValidationFailed("Deleted leads cannot be changed in bulk", details={"field": "deleted", "expected": "live leads"})
    async with tenant_transaction(scope.tenant_id):
        if checked == "assign":
            await _check_agent(scope, agent_id)
        newest = await fetch("SELECT coalesce(max(id), 0) AS id FROM lead WHERE tenant_id = $1", scope.tenant_id)
        upto = int(newest[0]["id"])
        ids = await _matching_ids(filters, scope, 0, upto, BACKGROUND_FROM + 1)
        if len(ids) <= BACKGROUND_FROM:
            changed, skipped = await _apply(scope, checked, agent_id, ids)
            return BulkOutcome(changed=changed, skipped=skipped)
        where, args = _where(scope, filters)
        counted = await fetch(
            f"SELECT count(*) AS n FROM {await lead_source(filters)} WHERE {where} AND id <= ${len(args) + 1}", *args, upto
        )
        rows = await LeadBulkOperation.insert(
            LeadBulkOperation(
                tenant_id=scope.tenant_id,
                action=checked,
                agent_id=agent_id,
                filters=msgspec.to_builtins(filters),
                upto_id=upto,
                created_by=scope.user_id,
                actor=scope.actor,
            )
        ).returning(LeadBulkOperation.id)
        operation_id = rows[0]["id"]
        await progress.track(scope.tenant_id, KIND, operation_id, total=int(counted[0]["n"]))
        view = await _view(scope, operation_id)
    # Enqueued once the row is committed, so the worker always finds it.
    await run_lead_bulk.enqueue(queue, tenant_id=scope.tenant_id, operation_id=operation_id)
    return BulkOutcome(operation=view)


async def _row(scope: TenantScope, operation_id: int) -> dict[str, Any]:
    """The operation, for the person who asked (or an admin, or its job)."""
    query = LeadBulkOperation.select().where((LeadBulkOperation.id == operation_id) & (LeadBulkOperation.tenant_id == scope.tenant_id))
    row = await query.first()
    if row is None or not (policy.SEE_ANY_BULK.allows(scope) or row["created_by"] == scope.user_id):
        raise ResourceNotFound("Bulk operation not found", details={"operation_id": operation_id})
    return dict(row)


async def _view(scope: TenantScope, operation_id: int) -> BulkOperationView:
    row = await _row(scope, operation_id)
    job_state = await progress.of(scope.tenant_id, KIND, operation_id)
    state = msgspec.structs.asdict(job_state) if job_state else {"status": "queued", "total": 0, "processed": 0, "error": ""}
    return msgspec.convert({**row, **state}, BulkOperationView)


async def get_operation(scope: TenantScope, operation_id: int, queue: Queue | None = None) -> BulkOperationView:
    """A bulk operation and its progress (with `queue`, a job that died is reported as failed)."""
    async with tenant_transaction(scope.tenant_id):
        view = await _view(scope, operation_id)
    young = view.created_at > datetime.now(UTC) - timedelta(minutes=1)  # its job may be on its way to the queue
    if queue is None or view.status not in ("queued", "running") or young or await run_lead_bulk.alive(queue, operation_id=operation_id):
        return view
    error = "The bulk change stopped unexpectedly (its worker ended); the leads changed so far stay changed. Start it again."
    await progress.fail_if_unfinished(scope.tenant_id, KIND, operation_id, error)
    async with tenant_transaction(scope.tenant_id):
        return await _view(scope, operation_id)


async def _requester(tenant_id: int, row: dict[str, Any]) -> TenantScope | None:
    """The person who asked, with their role as it is now (None when they are gone or deactivated)."""
    if row["created_by"] is None:
        return None
    user = await User.select(User.role, User.is_active).where((User.id == row["created_by"]) & (User.tenant_id == tenant_id)).first()
    if user is None or not user["is_active"]:
        return None
    return TenantScope(tenant_id=tenant_id, user_id=row["created_by"], role=user["role"], actor=row["actor"] or f"bulk #{row['id']}")


async def run_bulk_operation(tenant_id: int, operation_id: int) -> int:
    """The job: change the selection a batch per transaction, resuming after `last_id`. Returns how many changed."""
    system = TenantScope.system(tenant_id, f"lead bulk #{operation_id}")
    async with tenant_transaction(tenant_id):
        row = await _row(system, operation_id)
        scope = await _requester(tenant_id, row)
        if scope is not None:
            await progress.running(tenant_id, KIND, operation_id)
    if scope is None:
        gone = "The person who asked for this change is no longer active: nothing more changed."
        await progress.fail(tenant_id, KIND, operation_id, gone)
        return int(row["changed"])
    raw = row["filters"]
    filters = msgspec.convert(json.loads(raw) if isinstance(raw, str) else raw, LeadFilters)
    action: BulkAction = row["action"]
    try:
        while True:
            async with tenant_transaction(tenant_id):
                current = await _row(system, operation_id)  # a retry starts from what the last attempt committed
                ids = await _matching_ids(filters, scope, current["last_id"], current["upto_id"], BATCH)
                if not ids:
                    await progress.finish(tenant_id, KIND, operation_id)
                    return int(current["changed"])
                if action == "assign":
                    await _check_agent(scope, row["agent_id"])  # still someone who works leads
                changed, skipped = await _apply(scope, action, row["agent_id"], ids)
                await LeadBulkOperation.update(
                    {
                        LeadBulkOperation.last_id: ids[-1],
                        LeadBulkOperation.changed: LeadBulkOperation.changed + changed,
                        LeadBulkOperation.skipped: LeadBulkOperation.skipped + skipped,
                    }
                ).where(LeadBulkOperation.id == operation_id)
                await progress.advance(tenant_id, KIND, operation_id, by=len(ids))
    except asyncio.CancelledError:  # its worker is stopping (SIGTERM): SAQ re-queues it, so it waits, not failed
        await asyncio.create_task(progress.requeued(tenant_id, KIND, operation_id), context=contextvars.Context())
        raise
    except Exception as exc:
        reason = getattr(exc, "human", None) or f"Stopped: {type(exc).__name__}"
        failed = progress.fail(tenant_id, KIND, operation_id, f"{reason} The leads changed so far stay changed.")
        await asyncio.create_task(failed, context=contextvars.Context())
        raise


@job(key="lead-bulk:{operation_id}", timeout=1800, retries=2, heartbeat=30)
async def run_lead_bulk(ctx: Context, *, tenant_id: int, operation_id: int) -> int:
    """The job assigning or deleting a large selection of leads; a retry resumes after the last committed batch."""
    return await run_bulk_operation(tenant_id, operation_id)
