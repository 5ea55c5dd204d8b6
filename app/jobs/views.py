"""Screens of the failed-jobs console."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Template
from saq import Queue

from app.core.pagination import ListQuery
from app.db import TenantScope
from app.jobs import policy, service
from app.web.auth import guard
from app.web.ui import render

PAGE_SIZE = 25


class JobPagesController(Controller):
    """Settings: failed background jobs and their replay."""

    path = "/settings/jobs"
    include_in_schema = False
    guards = [guard(policy.MANAGE)]

    @get("/")
    async def failed_jobs(
        self, request: Request[Any, Any, Any], tenant: TenantScope, offset: Annotated[int, Parameter(ge=0)] = 0
    ) -> Template:
        """Background jobs that failed for good, with a replay button; the page lives in the URL."""
        page = await service.list_failed_jobs(tenant, ListQuery(limit=PAGE_SIZE, offset=offset))
        stats = await service.dlq_stats(tenant)
        return render(request, "settings/jobs.html", {"active": "settings", "tab": "jobs", "jobs": page, "stats": stats})

    @post("/{failed_id:int}/replay")
    async def replay_job(self, request: Request[Any, Any, Any], tenant: TenantScope, failed_id: int, queue: Queue) -> Template:
        """Enqueue the job again; answers with its updated row."""
        job = await service.replay_failed_job(tenant, queue, failed_id)
        return render(request, "settings/jobs.html", {"j": job}, block="job_row")
