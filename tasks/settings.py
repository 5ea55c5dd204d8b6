"""The queue, the worker's functions and cron jobs, shared by the in-process worker and `atrium worker`."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from saq import CronJob, Queue, Worker
from saq.job import Status
from saq.queue.postgres import PostgresQueue
from saq.types import Context

from app.core.jobs import TaskFunction
from app.db import queue_url as app_queue_url
from app.domains import domains
from tasks.maintenance import purge_expired

log = logging.getLogger(__name__)


def task_functions() -> list[TaskFunction]:
    """Every installed domain's tasks, by name (each declares its key, timeout and retries with @job)."""
    return [purge_expired.function, *(spec.function for domain in domains() for spec in domain.jobs)]


def cron_jobs() -> list[CronJob[Any]]:
    """The housekeeping cron and every installed domain's cron jobs."""
    purge = CronJob(purge_expired.function, cron="*/5 * * * *", timeout=purge_expired.timeout, retries=purge_expired.retries)
    return [purge, *(cron for domain in domains() for cron in domain.cron)]


class PreparedPostgresQueue(PostgresQueue):
    """SAQ's PostgreSQL queue on tables `atrium migrate` made as the owner (app.db.migrate): the app's roles
    cannot create tables, so the queue does not try to."""

    async def init_db(self) -> None:
        return None


def make_queue(queue_url: str | None, system_dsn: str) -> Queue:
    """A SAQ queue: QUEUE_URL (PostgreSQL or Redis) when set, else the app's database, as the system login working
    as `atrium_queue`."""
    if queue_url is None:
        return PreparedPostgresQueue(url=app_queue_url(system_dsn), name="atrium", min_size=1, max_size=6)
    if queue_url.startswith(("redis://", "rediss://")):
        return Queue.from_url(queue_url, name="atrium")
    return Queue.from_url(queue_url.replace("postgres://", "postgresql://", 1), name="atrium", min_size=1, max_size=6)


async def start_heartbeat(ctx: Context) -> None:
    """before_process hook: a job with a heartbeat is touched every third of it while it runs here. The beat
    belongs to this attempt (kept in its context), so an overlapping attempt of the same key never shares it."""
    job = ctx.get("job")
    if job is None or not job.heartbeat:
        return

    async def beat() -> None:
        while True:
            await asyncio.sleep(job.heartbeat / 3)
            try:
                await job.update()  # sets `touched`
            except Exception:  # a missed beat is retried on the next one; the sweep allows three
                log.warning("heartbeat of %s failed", job.key, exc_info=True)

    ctx["heartbeat"] = asyncio.create_task(beat())  # type: ignore[typeddict-unknown-key]


async def stop_heartbeat(ctx: Context) -> None:
    """after_process hook: the attempt is over, so is its heartbeat."""
    beat: Any = ctx.pop("heartbeat", None)  # type: ignore[typeddict-item]
    if beat is not None:
        beat.cancel()


async def forgive_shutdown(ctx: Context) -> None:
    """after_process hook: a job SAQ put back in the queue because its worker is stopping (SIGTERM, Ctrl-C: SAQ's
    "cancelled" retry) did not fail, so that attempt does not count against its retries: a restart during a long job
    must not leave it one crash away from being given up."""
    job = ctx.get("job")
    if job is None or job.status != Status.QUEUED or job.error != "cancelled" or job.attempts <= 0:
        return
    await job.update(attempts=job.attempts - 1)


async def record_failure(ctx: Context) -> None:
    """after_process hook: keep jobs that failed for good, for the admin's failed-jobs view."""
    job = ctx.get("job")
    if job is None or job.status != Status.FAILED:
        return
    from app.jobs.service import record_failed_job

    await record_failed_job(job)


async def start_relay(ctx: Context) -> None:
    """startup hook: the webhook relay (app.outbound.delivery.Relay) and the automation rules' runner
    (app.automation.runner.Automation) run beside the worker."""
    from app.automation.runner import Automation
    from app.outbound.delivery import Relay
    from app.piccolo_conf import DB

    relay = Relay(ctx["worker"].queue, DB.config["dsn"])
    await relay.start()
    ctx["relay"] = relay  # type: ignore[typeddict-unknown-key]
    automation = Automation(ctx["worker"].queue, DB.config["dsn"])
    await automation.start()
    ctx["automation"] = automation  # type: ignore[typeddict-unknown-key]


async def stop_relay(ctx: Context) -> None:
    """shutdown hook: stop the relay and close the webhook HTTP client."""
    from app.outbound.sender import close_clients

    relay: Any = ctx.get("relay")
    if relay is not None:
        await relay.stop()
    automation: Any = ctx.get("automation")
    if automation is not None:
        await automation.stop()
    await close_clients()


class InProcessWorker(Worker[Any]):
    """A worker inside the web process: the web server owns the signal handlers."""

    SIGNALS: list[signal.Signals] = []


def make_worker(
    queue: Queue,
    *,
    concurrency: int = 10,
    in_process: bool = False,
    extra_functions: list[TaskFunction] | None = None,
    sweep_every: int = 15,
) -> Worker[Any]:
    """A worker for `queue` with every task and cron job of Atrium; it sweeps every `sweep_every` seconds (JOB_SWEEP_INTERVAL)."""
    cls = InProcessWorker if in_process else Worker
    return cls(
        queue,
        functions=[*task_functions(), *(extra_functions or [])],
        cron_jobs=cron_jobs(),
        concurrency=concurrency,
        before_process=[start_heartbeat],
        after_process=[stop_heartbeat, forgive_shutdown, record_failure],
        startup=[start_relay],
        shutdown=[stop_relay],
        # A job whose worker died is swept back into the queue within its heartbeat plus one sweep.
        timers={"schedule": 1, "worker_info": 10, "sweep": sweep_every, "abort": 1},
    )
