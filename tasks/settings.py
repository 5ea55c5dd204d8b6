"""The queue, the worker's functions and cron jobs, shared by the in-process worker and `atrium worker`."""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from saq import CronJob, Queue, Worker
from saq.job import Status
from saq.types import Context

from tasks.exports import run_export
from tasks.imports import run_import
from tasks.leads import rescore_all_tenants, rescore_leads
from tasks.maintenance import purge_expired

log = logging.getLogger(__name__)

TaskFunction = Callable[..., Awaitable[Any]]

# Every task, by name. Jobs are enqueued by these names with explicit timeouts and retries
# (SAQ's own defaults are a single try and a 10 s timeout).
FUNCTIONS: list[TaskFunction] = [purge_expired, rescore_leads, rescore_all_tenants, run_import, run_export]

CRON_JOBS: list[CronJob[Any]] = [
    CronJob(purge_expired, cron="*/5 * * * *", timeout=120, retries=3),
    CronJob(rescore_all_tenants, cron="15 3 * * *", timeout=300, retries=3),
]

DEFAULT_TIMEOUT = 60
DEFAULT_RETRIES = 3


def make_queue(url: str) -> Queue:
    """A SAQ queue on PostgreSQL (postgresql://…) or Redis (redis://…)."""
    if url.startswith(("redis://", "rediss://")):
        return Queue.from_url(url, name="atrium")
    url = url.replace("postgres://", "postgresql://", 1)
    return Queue.from_url(url, name="atrium", min_size=1, max_size=6)


async def record_failure(ctx: Context) -> None:
    """after_process hook: keep jobs that failed for good, for the admin's failed-jobs view."""
    job = ctx.get("job")
    if job is None or job.status != Status.FAILED:
        return
    from app.jobs.service import record_failed_job

    await record_failed_job(job)


class InProcessWorker(Worker[Any]):
    """A worker inside the web process: the web server owns the signal handlers."""

    SIGNALS: list[signal.Signals] = []


def make_worker(
    queue: Queue, *, concurrency: int = 10, in_process: bool = False, extra_functions: list[TaskFunction] | None = None
) -> Worker[Any]:
    """A worker for `queue` with every task and cron job of Atrium."""
    cls = InProcessWorker if in_process else Worker
    return cls(
        queue,
        functions=[*FUNCTIONS, *(extra_functions or [])],
        cron_jobs=CRON_JOBS,
        concurrency=concurrency,
        after_process=[record_failure],
        timers={"schedule": 1, "worker_info": 10, "sweep": 30, "abort": 1},
    )
