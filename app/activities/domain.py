"""Activities: tasks and follow-ups (API), My day (the agent's start page) and the one-move call outcome."""

from __future__ import annotations

from saq import CronJob

from app.activities import policy
from app.activities.api import ActivityController
from app.activities.digest import send_digests
from app.activities.jobs import notify_due_tasks
from app.activities.service import lead_activity
from app.activities.views import LeadTasksController, MyDayController, start_page
from app.dashboard.views import provide_start_page
from app.domains import Domain, NavEntry
from app.leads.service import provide_lead_activity, provide_task_conditions

# Agents start on My day; the dashboard stays at /dashboard.
provide_start_page(start_page)
# The leads list shows each lead's next activity, overdue and last activity.
provide_lead_activity(lead_activity)
# The leads list filters on a lead's tasks (indexed by task_lead): an overdue one, or no open one (no next step).
provide_task_conditions(
    {
        "has_overdue_task": "id IN (SELECT t.lead_id FROM task t WHERE t.tenant_id = $1 AND NOT t.done AND t.due_at < now())",
        "no_next_step": "id NOT IN (SELECT t.lead_id FROM task t WHERE t.tenant_id = $1 AND NOT t.done AND t.lead_id IS NOT NULL)",
    }
)

DOMAIN = Domain(
    name="activities",
    controllers=[ActivityController, MyDayController, LeadTasksController],
    jobs=[notify_due_tasks, send_digests],
    # Owners hear of their tasks coming due (once each), every 5 minutes.
    # and, hourly, those who chose it get their morning digest (from 07:00 where they are) when SMTP is configured.
    cron=[
        CronJob(notify_due_tasks.function, cron="*/5 * * * *", timeout=notify_due_tasks.timeout, retries=notify_due_tasks.retries),
        CronJob(send_digests.function, cron="0 * * * *", timeout=send_digests.timeout, retries=send_digests.retries),
    ],
    nav=[NavEntry("my-day", "My day", "/my-day", order=-1, permission="activities.view")],
    events={
        "activity.created": "A task was planned (by hand, from a score recommendation or by a rule)",
        "activity.updated": "A task changed (`changed_fields` says what)",
        "activity.completed": "A task was done (its `outcome` says what came of it)",
        "activity.deleted": "A task planned by mistake was deleted",
    },
    # An agent sees live events of their own and unowned tasks only; finance none.
    live_visibility={"task": policy.VIEW},
)
