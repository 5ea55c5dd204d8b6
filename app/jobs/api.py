"""JSON API: failed background jobs and their replay (admin job queue)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter
from saq import Queue

from app.core.pagination import ListQuery
from app.db import TenantScope
from app.jobs import policy, service
from app.jobs.schemas import FailedJob, FailedJobPage
from app.web.auth import guard


class JobsController(Controller):
    """The tenant's failed jobs, for admins."""

    path = "/v2/admin/jobs"
    tags = ["Admin"]
    guards = [guard(policy.MANAGE)]

    @get("/failed", operation_id="listFailedJobs", summary="List failed jobs")
    async def list_failed(self, tenant: TenantScope, list_query: ListQuery) -> FailedJobPage:
        """Jobs that exhausted their retries, with the count not yet replayed."""
        return await service.list_failed_jobs(tenant, list_query)

    @post("/failed/{failed_id:int}/replay", operation_id="replayFailedJob", summary="Replay a failed job", status_code=202)
    async def replay(
        self, tenant: TenantScope, queue: Queue, failed_id: Annotated[int, Parameter(description="Failed job id")]
    ) -> FailedJob:
        """Enqueues the job again with the same arguments (once)."""
        return await service.replay_failed_job(tenant, queue, failed_id)
