"""Failed background jobs: their API and their settings screen."""

from __future__ import annotations

from app.domains import Domain, FailedWork
from app.jobs.api import DeadLetterController, JobsController
from app.jobs.progress import EVENTS
from app.jobs.service import failed_by_function, replay_failed_jobs
from app.jobs.views import JobPagesController

DOMAIN = Domain(
    name="jobs",
    controllers=[JobsController, DeadLetterController, JobPagesController],
    live_events=EVENTS,
    failed_work=[FailedWork(stats=failed_by_function, replay=replay_failed_jobs)],
)
