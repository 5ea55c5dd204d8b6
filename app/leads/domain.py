"""Leads: API, screens, jobs and the cleanup of finished exports."""

from __future__ import annotations

from saq import CronJob

from app.domains import Domain, NavEntry
from app.leads.api import LeadController, LeadExportController
from app.leads.bulk import run_lead_bulk
from app.leads.events import EVENTS
from app.leads.export import run_export
from app.leads.jobs import find_conversation_timeouts, rescore_all_tenants, rescore_leads
from app.leads.service import SEARCH_TEXT
from app.leads.views import LeadPagesController

DOMAIN = Domain(
    name="leads",
    controllers=[LeadController, LeadExportController, LeadPagesController],
    nav=[NavEntry("leads", "Leads", "/leads", order=10)],
    jobs=[rescore_leads, rescore_all_tenants, run_export, run_lead_bulk, find_conversation_timeouts],
    cron=[
        CronJob(
            find_conversation_timeouts.function,
            cron="*/10 * * * *",
            timeout=find_conversation_timeouts.timeout,
            retries=find_conversation_timeouts.retries,
        ),
        CronJob(rescore_all_tenants.function, cron="15 3 * * *", timeout=rescore_all_tenants.timeout, retries=rescore_all_tenants.retries),
    ],
    # Finished exports are kept a day for download, then dropped (their files can be large), and their jobs' progress.
    cleanup={
        "export_files": (
            "DELETE FROM export_job e USING job_progress p "
            "WHERE p.kind = 'export' AND p.subject_id = e.id AND p.finished_at < now() - interval '1 day'"
        ),
        "export_progress": (
            "DELETE FROM job_progress p WHERE p.kind = 'export' AND NOT EXISTS (SELECT 1 FROM export_job e WHERE e.id = p.subject_id)"
        ),
        # A bulk change's page is kept a week after it ends (the leads' timelines and the audit log keep what changed).
        "bulk_operations": (
            "DELETE FROM lead_bulk_operation b USING job_progress p "
            "WHERE p.kind = 'lead_bulk' AND p.subject_id = b.id AND p.finished_at < now() - interval '7 days'"
        ),
        "bulk_progress": (
            "DELETE FROM job_progress p WHERE p.kind = 'lead_bulk' "
            "AND NOT EXISTS (SELECT 1 FROM lead_bulk_operation b WHERE b.id = p.subject_id)"
        ),
    },
    searches={"lead": SEARCH_TEXT},
    events=EVENTS,
)
