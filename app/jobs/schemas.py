"""Failed background jobs as admins see them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import Meta

from app.core.pagination import Page
from app.core.schemas import RequestBody, ResponseBody


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


class QueueStats(ResponseBody):
    """Failed work in one queue (a job's name, or `webhooks`)."""

    queue: str
    failed: int


class DlqStats(ResponseBody):
    """Everything of the tenant that failed for good and is not replayed yet."""

    total_failed: int
    queues: list[QueueStats]


class ReplayBulk(RequestBody):
    """Replay up to `max_tasks` failed items of `queue` (oldest first); `dry_run` only says which."""

    queue: Annotated[str, Meta(min_length=1, max_length=100)]
    max_tasks: Annotated[int, Meta(ge=1, le=1000)] = 10
    dry_run: bool = False


class ReplayResult(ResponseBody):
    """What a bulk replay did (or would do)."""

    queue: str
    dry_run: bool
    replayed: int
    would_replay: int
    ids: list[int]
