"""Failed background jobs: their API and their settings screen."""

from __future__ import annotations

from app.domains import Domain
from app.jobs.api import JobsController
from app.jobs.progress import EVENTS
from app.jobs.views import JobPagesController

DOMAIN = Domain(name="jobs", controllers=[JobsController, JobPagesController], events=EVENTS)
