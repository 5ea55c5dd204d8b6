"""JSON API: automation rules (workflows) and their run log."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.params import Parameter

from app.automation import policy, schemas, service
from app.core.pagination import ListQuery, Page
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.web.auth import guard
from app.web.json import ApiResponse

WorkflowId = Annotated[int, Parameter(description="Workflow id")]


class WorkflowController(Controller):
    """Automation rules: when an event happens and its conditions hold, assign, create a task, set a status or tag."""

    path = "/v2/workflows"
    opt = resource_opt("workflows")  # its scopes: workflows:read, workflows:write
    tags = ["Workflows"]

    @get("/", operation_id="listWorkflows", summary="List automation rules", guards=[guard(policy.VIEW)])
    async def list_workflows(self, tenant: TenantScope, list_query: ListQuery) -> Page[schemas.Workflow]:
        """Every rule of the workspace with how often it ran, oldest first (the built-in hot-lead rule among them)."""
        return await service.list_workflows(tenant, list_query)

    @post("/", operation_id="createWorkflow", summary="Create an automation rule", guards=[guard(policy.MANAGE)], status_code=201)
    async def create_workflow(self, tenant: TenantScope, data: schemas.WorkflowCreate) -> ApiResponse[schemas.Workflow]:
        """E.g. `{"name": "Qualified: assign and call", "trigger": "lead.status_changed", "conditions": [{"field":
        "status", "op": "changed_to", "value": "QUALIFIED"}], "actions": [{"type": "assign", "to": "round_robin"},
        {"type": "create_task", "task_type": "call", "subject": "Call the qualified lead", "due_in_minutes": 60}]}`.
        Rules run in the worker on events written after they exist, once per event."""
        workflow = await service.create_workflow(tenant, data)
        return ApiResponse(workflow, status_code=201, headers={"Location": f"/v2/workflows/{workflow.id}"})

    @get("/runs", operation_id="listWorkflowRuns", summary="The run log of every rule", guards=[guard(policy.VIEW)])
    async def all_runs(self, tenant: TenantScope, list_query: ListQuery) -> Page[schemas.WorkflowRun]:
        """Newest first: each rule's run on each event, what it did (or why it failed or was skipped)."""
        return await service.runs(tenant, None, list_query)

    @get("/{workflow_id:int}", operation_id="getWorkflow", summary="Get an automation rule", guards=[guard(policy.VIEW)])
    async def get_workflow(self, tenant: TenantScope, workflow_id: WorkflowId) -> schemas.Workflow:
        """404 for other tenants' ids."""
        return await service.get_workflow(tenant, workflow_id)

    @patch("/{workflow_id:int}", operation_id="updateWorkflow", summary="Change an automation rule", guards=[guard(policy.MANAGE)])
    async def update_workflow(self, tenant: TenantScope, workflow_id: WorkflowId, data: schemas.WorkflowUpdate) -> schemas.Workflow:
        """Change it, or turn it off (`active: false`)."""
        return await service.update_workflow(tenant, workflow_id, data)

    @put(
        "/{workflow_id:int}",
        operation_id="putWorkflow",
        summary="Change an automation rule (PUT, as the reference)",
        guards=[guard(policy.MANAGE)],
    )
    async def put_workflow(self, tenant: TenantScope, workflow_id: WorkflowId, data: schemas.WorkflowUpdate) -> schemas.Workflow:
        """The same as PATCH: fields left out are unchanged."""
        return await service.update_workflow(tenant, workflow_id, data)

    @delete("/{workflow_id:int}", operation_id="deleteWorkflow", summary="Delete an automation rule", guards=[guard(policy.MANAGE)])
    async def delete_workflow(self, tenant: TenantScope, workflow_id: WorkflowId) -> None:
        """The rule and its run log go."""
        await service.delete_workflow(tenant, workflow_id)

    @get("/{workflow_id:int}/runs", operation_id="listRunsOfWorkflow", summary="A rule's run log", guards=[guard(policy.VIEW)])
    async def runs(self, tenant: TenantScope, workflow_id: WorkflowId, list_query: ListQuery) -> Page[schemas.WorkflowRun]:
        """Newest first."""
        await service.get_workflow(tenant, workflow_id)
        return await service.runs(tenant, workflow_id, list_query)
