"""The progress of long jobs: one table for every kind (imports, exports, and every later long job).

A domain names its job by a kind and the id of the row the job works on (`"import"`, 12); it
keeps what is particular to it in its own table, and its status and counts here. Every function
runs in the tenant's transaction (joining the caller's when there is one), so progress changes
commit with the work they describe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from app.db import TenantScope, fetch, tenant_transaction
from app.events.service import Subject, emit

STATUSES = ("queued", "running", "done", "failed")


class Progress(msgspec.Struct, kw_only=True):
    """Where a job stands."""

    status: str
    total: int
    processed: int
    error: str
    started_at: datetime | None
    finished_at: datetime | None


EVENTS = {
    "task_progress": "A background job (import, export…) counted more items done",
    "task_completed": "A background job (import, export…) finished or failed",
}


async def _write(tenant_id: int, sql: str, *args: Any, event: str | None = None) -> None:
    """Change the job's row; with `event`, publish where it now stands (the live progress bars listen)."""
    async with tenant_transaction(tenant_id):
        rows = await fetch(sql + " RETURNING kind, subject_id, status, total, processed, error", *args)
        if event and rows:
            row = rows[0]
            data = {"task_id": f"{row['kind']}:{row['subject_id']}", **row}
            await emit(TenantScope.system(tenant_id, "system:jobs"), Subject(row["kind"], row["subject_id"]), event, events=[(event, data)])


async def track(tenant_id: int, kind: str, subject_id: int, *, total: int) -> None:
    """A job for this row is queued (again, after a failure: its count so far is kept, so it resumes)."""
    await _write(
        tenant_id,
        """INSERT INTO job_progress (tenant_id, kind, subject_id, status, total) VALUES ($1, $2, $3, 'queued', $4)
           ON CONFLICT (kind, subject_id) DO UPDATE SET status = 'queued', total = EXCLUDED.total, error = '', finished_at = NULL""",
        tenant_id,
        kind,
        subject_id,
        total,
    )


async def running(tenant_id: int, kind: str, subject_id: int, *, processed: int | None = None) -> None:
    """The job started (or restarted: `processed` resets the count when it starts over)."""
    await _write(
        tenant_id,
        """UPDATE job_progress SET status = 'running', started_at = coalesce(started_at, now()), processed = coalesce($3, processed),
                  error = '', finished_at = NULL
           WHERE kind = $1 AND subject_id = $2""",
        kind,
        subject_id,
        processed,
    )


async def advance(tenant_id: int, kind: str, subject_id: int, *, by: int = 0, to: int | None = None) -> None:
    """Count `by` more items done, or set the count `to` a number."""
    await _write(
        tenant_id,
        "UPDATE job_progress SET processed = coalesce($4, processed + $3) WHERE kind = $1 AND subject_id = $2",
        kind,
        subject_id,
        by,
        to,
        event="task_progress",
    )


async def finish(tenant_id: int, kind: str, subject_id: int) -> None:
    """The job is done: every item counted."""
    await _write(
        tenant_id,
        "UPDATE job_progress SET status = 'done', processed = total, finished_at = now() WHERE kind = $1 AND subject_id = $2",
        kind,
        subject_id,
        event="task_completed",
    )


async def requeued(tenant_id: int, kind: str, subject_id: int) -> None:
    """The job was cancelled mid-way (its worker is stopping, SIGTERM) and SAQ puts it back in the queue: it says
    queued again, its count kept, until a worker takes it. (If SAQ gives it up instead, the domain finds its job dead
    when it is next read and marks it failed.)"""
    await _write(
        tenant_id,
        "UPDATE job_progress SET status = 'queued', error = '', finished_at = NULL "
        "WHERE kind = $1 AND subject_id = $2 AND status IN ('queued', 'running')",
        kind,
        subject_id,
        event="task_progress",
    )


async def fail_if_unfinished(tenant_id: int, kind: str, subject_id: int, error: str) -> None:
    """The job is dead while its row still says queued or running: mark it failed, unless it finished since."""
    await _write(
        tenant_id,
        "UPDATE job_progress SET status = 'failed', error = $3, finished_at = now() "
        "WHERE kind = $1 AND subject_id = $2 AND status IN ('queued', 'running')",
        kind,
        subject_id,
        error[:2000],
        event="task_completed",
    )


async def fail(tenant_id: int, kind: str, subject_id: int, error: str) -> None:
    """The job stopped; `error` says why (shown to the person who started it). Recorded even for a job never tracked."""
    await _write(
        tenant_id,
        """INSERT INTO job_progress (tenant_id, kind, subject_id, status, error, finished_at) VALUES ($1, $2, $3, 'failed', $4, now())
           ON CONFLICT (kind, subject_id) DO UPDATE SET status = 'failed', error = EXCLUDED.error, finished_at = EXCLUDED.finished_at""",
        tenant_id,
        kind,
        subject_id,
        error[:2000],
        event="task_completed",
    )


async def of(tenant_id: int, kind: str, subject_id: int) -> Progress | None:
    """Where the job for this row stands (None before it was ever queued)."""
    async with tenant_transaction(tenant_id):
        rows = await fetch(
            "SELECT status, total, processed, error, started_at, finished_at FROM job_progress WHERE kind = $1 AND subject_id = $2",
            kind,
            subject_id,
        )
    return msgspec.convert(rows[0], Progress) if rows else None
