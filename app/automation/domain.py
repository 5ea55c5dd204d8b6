"""Automation: rules run on outbox events in the worker (app.automation.runner), their API and Settings screen."""

from __future__ import annotations

from app.automation.api import WorkflowController
from app.automation.service import set_up_tenant
from app.automation.views import WorkflowPagesController
from app.domains import Domain

DOMAIN = Domain(
    name="automation",
    controllers=[WorkflowController, WorkflowPagesController],
    tenant_setup=set_up_tenant,
    # The run log keeps 90 days.
    cleanup={"workflow_runs": "DELETE FROM workflow_run WHERE created_at < now() - interval '90 days'"},
)
