"""JSON API: failed background jobs and their replay (admin job queue)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter
from saq import Queue

from app.core.pagination import SORTS_OPT, ListQuery
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.jobs import policy, service
from app.jobs.schemas import DlqStats, FailedJob, FailedJobPage, ReplayBulk, ReplayResult
from app.web.auth import guard


class JobsController(Controller):
    """The tenant's failed jobs, for admins."""

    path = "/v2/admin/jobs"
    opt = resource_opt("jobs")  # its scopes: jobs:read, jobs:write
    tags = ["Admin"]
    guards = [guard(policy.MANAGE)]

    @get("/failed", operation_id="listFailedJobs", summary="List failed jobs", opt={SORTS_OPT: service.SORTS})
    async def list_failed(self, tenant: TenantScope, list_query: ListQuery) -> FailedJobPage:
        """Jobs that exhausted their retries, with the count not yet replayed."""
        return await service.list_failed_jobs(tenant, list_query)

    @post("/failed/{failed_id:int}/replay", operation_id="replayFailedJob", summary="Replay a failed job", status_code=202)
    async def replay(
        self, tenant: TenantScope, queue: Queue, failed_id: Annotated[int, Parameter(description="Failed job id")]
    ) -> FailedJob:
        """Enqueues the job again with the same arguments (once)."""
        return await service.replay_failed_job(tenant, queue, failed_id)


class DeadLetterController(Controller):
    """The failed-work console (the real-estate guide's DLQ): failed jobs and failed webhook deliveries."""

    path = "/v2/admin/dlq"
    opt = resource_opt("jobs")  # its scopes: jobs:read, jobs:write
    tags = ["Admin"]
    guards = [guard(policy.MANAGE)]

    @get("/stats", operation_id="getDlqStats", summary="Failed work per queue")
    async def stats(self, tenant: TenantScope) -> DlqStats:
        """`queues`: failed jobs per job name, and `webhooks` for deliveries that exhausted their retries."""
        return await service.dlq_stats(tenant)

    @post("/replay-bulk", operation_id="replayDlq", summary="Replay failed work of a queue", status_code=200)
    async def replay_bulk(self, tenant: TenantScope, queue: Queue, data: ReplayBulk) -> ReplayResult:
        """Oldest first, at most `max_tasks`; with `dry_run` nothing is replayed, `ids` says what would be."""
        return await service.dlq_replay(tenant, queue, data)
