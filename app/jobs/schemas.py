"""Failed background jobs as admins see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.web.schemas import ResponseBody


class FailedJob(ResponseBody):
    """A job that exhausted its retries."""

    id: int
    job_key: str
    function: str
    kwargs: dict[str, Any]
    error: str
    attempts: int
    failed_at: datetime
    replayed_at: datetime | None = None
    replay_job_key: str | None = None


class FailedJobPage(ResponseBody):
    """A page of failed jobs with the tenant's totals."""

    total: int
    limit: int
    offset: int
    data: list[FailedJob]
    not_replayed: int
