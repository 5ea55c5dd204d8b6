"""Failed background jobs: recorded by the worker, listed and replayed by a tenant's admins."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from saq import Job, Queue

from app.core.errors import Conflict, ResourceNotFound
from app.core.pagination import ListQuery, page_of, sort_order
from app.db import TenantScope, fetch, system_transaction, tenant_transaction
from app.domains import failed_work
from app.jobs import policy
from app.jobs.schemas import DlqStats, FailedJob, FailedJobPage, QueueStats, ReplayBulk, ReplayResult
from app.jobs.tables import FailedJob as FailedJobTable

# Used when a failed job's own settings were not recorded.
REPLAY_DEFAULTS: dict[str, Any] = {"timeout": 300, "retries": 3, "retry_delay": 5.0, "retry_backoff": 60.0}
SORTS = {"failed_at": "failed_at", "function": "function"}


async def record_failed_job(job: Job) -> None:
    """Keep a job that failed for good. Its tenant is the job's `tenant_id` argument (none for system jobs)."""
    kwargs = dict(job.kwargs or {})
    tenant_id = kwargs.get("tenant_id")
    async with system_transaction():
        await fetch(
            """INSERT INTO failed_job (tenant_id, job_key, function, kwargs, options, error, attempts, failed_at)
               VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, now())""",
            int(tenant_id) if tenant_id is not None else None,
            job.key,
            job.function,
            json.dumps(kwargs, default=str),
            json.dumps(
                {"timeout": job.timeout, "retries": job.retries, "retry_delay": job.retry_delay, "retry_backoff": job.retry_backoff}
            ),
            (job.error or "")[-20_000:],
            job.attempts,
        )


async def list_failed_jobs(scope: TenantScope, query: ListQuery) -> FailedJobPage:
    """A page of the tenant's failed jobs, newest first."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        select = FailedJobTable.select().where(FailedJobTable.tenant_id == scope.tenant_id)
        rows = await sort_order(query.sort, SORTS, "-failed_at").apply(select).limit(query.limit).offset(query.offset)
        total = await FailedJobTable.count().where(FailedJobTable.tenant_id == scope.tenant_id)
        pending = await FailedJobTable.count().where((FailedJobTable.tenant_id == scope.tenant_id) & FailedJobTable.replayed_at.is_null())
    for row in rows:
        if isinstance(row["kwargs"], str):
            row["kwargs"] = json.loads(row["kwargs"])
    listed = page_of(FailedJob, rows, query, total)
    return FailedJobPage(
        total=listed.total, limit=listed.limit, offset=listed.offset, data=listed.data, page=listed.page, not_replayed=pending
    )


async def replay_failed_job(scope: TenantScope, queue: Queue, failed_id: int) -> FailedJob:
    """Enqueue a failed job again with the same arguments; a job is replayed at most once."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = (
            await FailedJobTable.select()
            .where((FailedJobTable.id == failed_id) & (FailedJobTable.tenant_id == scope.tenant_id))
            .lock_rows("UPDATE")
            .first()
        )
        if row is None:
            raise ResourceNotFound("Failed job not found")
        if row["replayed_at"] is not None:
            raise Conflict("This job was already replayed", details={"replay_job_key": row["replay_job_key"]})
        kwargs: dict[str, Any] = json.loads(row["kwargs"]) if isinstance(row["kwargs"], str) else row["kwargs"]
        key = f"replay:{failed_id}:{uuid.uuid4().hex[:8]}"
        stored = json.loads(row["options"]) if isinstance(row["options"], str) else row["options"]
        options = {**REPLAY_DEFAULTS, **{k: v for k, v in (stored or {}).items() if k in REPLAY_DEFAULTS}}
        await queue.enqueue(row["function"], key=key, **options, **kwargs)
        now = datetime.now(UTC)
        await FailedJobTable.update({FailedJobTable.replayed_at: now, FailedJobTable.replay_job_key: key}).where(
            FailedJobTable.id == failed_id
        )
        from app.events.service import Subject, audit

        await audit(scope, Subject("job", failed_id), "job.replayed", {"function": row["function"], "job_key": key})
        row.update(replayed_at=now, replay_job_key=key, kwargs=kwargs)
    return msgspec.convert(row, FailedJob)


async def failed_by_function(scope: TenantScope) -> dict[str, int]:
    """Failed-work stats: failed jobs not replayed, per job name."""
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            "SELECT function, count(*) AS n FROM failed_job WHERE tenant_id = $1 AND replayed_at IS NULL GROUP BY function ORDER BY 1",
            scope.tenant_id,
        )
    return {r["function"]: int(r["n"]) for r in rows}


async def replay_failed_jobs(scope: TenantScope, queue: Queue, name: str, limit: int, dry_run: bool) -> list[int] | None:
    """Failed-work replay of the jobs named `name`, oldest first (None when no job of the tenant by that name ever failed)."""
    async with tenant_transaction(scope.tenant_id):
        if not await fetch("SELECT 1 FROM failed_job WHERE tenant_id = $1 AND function = $2 LIMIT 1", scope.tenant_id, name):
            return None
        rows = await fetch(
            "SELECT id FROM failed_job WHERE tenant_id = $1 AND function = $2 AND replayed_at IS NULL ORDER BY id LIMIT $3",
            scope.tenant_id,
            name,
            limit,
        )
    ids = [r["id"] for r in rows]
    if not dry_run:
        for failed_id in ids:
            await replay_failed_job(scope, queue, failed_id)
    return ids


async def dlq_stats(scope: TenantScope) -> DlqStats:
    """Failed work of every kind (jobs per name, webhook deliveries), for the console."""
    policy.MANAGE.require(scope)
    counts: dict[str, int] = {}
    for work in failed_work():
        counts.update(await work.stats(scope))
    queues = [QueueStats(queue=name, failed=n) for name, n in sorted(counts.items())]
    return DlqStats(total_failed=sum(counts.values()), queues=queues)


async def dlq_replay(scope: TenantScope, queue: Queue, data: ReplayBulk) -> ReplayResult:
    """Replay failed work of one queue, oldest first."""
    policy.MANAGE.require(scope)
    for work in failed_work():
        ids = await work.replay(scope, queue, data.queue, data.max_tasks, data.dry_run)
        if ids is not None:
            return ReplayResult(
                queue=data.queue,
                dry_run=data.dry_run,
                replayed=0 if data.dry_run else len(ids),
                would_replay=len(ids) if data.dry_run else 0,
                ids=ids,
            )
    # A queue with nothing failed (or none by that name, like the guide's "memos"): nothing to replay.
    return ReplayResult(queue=data.queue, dry_run=data.dry_run, replayed=0, would_replay=0, ids=[])
