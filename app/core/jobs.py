"""Typed background jobs: a task's name, key, timeout and retries are declared once, next to the task.

    @job(key="rescore-leads:{tenant_id}", timeout=1800, retries=3)
    async def rescore_leads(ctx: Context, *, tenant_id: int) -> dict[str, int]: ...

    await rescore_leads.enqueue(queue, tenant_id=7)

The key is built from the job's arguments (the id of the row it works on), so asking twice while
a job is queued or running does not start a second one. Jobs act through `TenantScope.system`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from saq import Job, Queue
from saq.job import Status

TaskFunction = Callable[..., Awaitable[Any]]
_heartbeat_override = 0  # JOB_HEARTBEAT, set at start-up by use_heartbeat()


def use_heartbeat(seconds: int) -> None:
    """JOB_HEARTBEAT: the heartbeat every job that declares one is enqueued with from now on (0: as declared)."""
    global _heartbeat_override
    _heartbeat_override = seconds


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A task and how it is enqueued."""

    function: TaskFunction
    key: str
    timeout: int
    retries: int
    retry_delay: float
    heartbeat: int = 0  # seconds without a sign of life before SAQ's sweep takes the job back (0: only its timeout)

    @property
    def name(self) -> str:
        """The name workers know the task by."""
        return self.function.__name__

    @property
    def heartbeat_now(self) -> int:
        """The heartbeat it is enqueued with: the declared one, or JOB_HEARTBEAT's when set (for a job that has one)."""
        return (_heartbeat_override or self.heartbeat) if self.heartbeat else 0

    def key_for(self, **kwargs: Any) -> str:
        """The job key for these arguments."""
        return self.key.format(**kwargs)

    async def enqueue(self, queue: Queue, *, scheduled: float | None = None, **kwargs: Any) -> Job | None:
        """Queue the task, to run at `scheduled` (epoch seconds) or now; None when a job with the same key is
        already queued or running. A finished job's key can be queued again."""
        return await queue.enqueue(
            self.name,
            key=self.key_for(**kwargs),
            timeout=self.timeout,
            retries=self.retries,
            retry_delay=self.retry_delay,
            heartbeat=self.heartbeat_now,
            scheduled=int(scheduled if scheduled is not None else time.time()),
            **kwargs,
        )

    async def alive(self, queue: Queue, **kwargs: Any) -> bool:
        """Whether the job for these arguments may still run: queued, or active (a stuck one is the sweep's to
        take back and retry, never this caller's). False when it finished, failed, was given up or is gone."""
        found = await queue.job(self.key_for(**kwargs))
        return found is not None and found.status not in (Status.COMPLETE, Status.FAILED, Status.ABORTED)

    async def __call__(self, ctx: Any, **kwargs: Any) -> Any:
        """Run the task directly (tests, replays)."""
        return await self.function(ctx, **kwargs)


def job(*, key: str, timeout: int, retries: int = 3, retry_delay: float = 5.0, heartbeat: int = 0) -> Callable[[TaskFunction], JobSpec]:
    """Declare a task with its key template (over its keyword arguments), timeout in seconds and retries.

    A long job sets `heartbeat`: the worker running it touches it every third of that, so when the process
    dies (kill -9, a lost machine) SAQ's sweep re-queues it within `heartbeat` plus one sweep, not its timeout.
    JOB_HEARTBEAT replaces the declared heartbeat of every job that has one (the crash tests shorten it).
    """

    def declare(function: TaskFunction) -> JobSpec:
        return JobSpec(function=function, key=key, timeout=timeout, retries=retries, retry_delay=retry_delay, heartbeat=heartbeat)

    return declare
