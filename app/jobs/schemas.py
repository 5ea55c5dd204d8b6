"""Failed background jobs as admins see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.core.pagination import Page
from app.core.schemas import ResponseBody


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


class FailedJobPage(Page[FailedJob]):
    """A page of failed jobs with how many of the tenant's are not replayed yet."""

    data: list[FailedJob]  # restated so the OpenAPI schema names the item type
    not_replayed: int = 0
