"""JSON API: activities (tasks and follow-ups) — CRUD with filters, a score recommendation made a task, and the one-move
call outcome."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter

from app.activities import policy, schemas, service, workspace
from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.schemas import ResponseBody
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.web.auth import guard
from app.web.deps import INSTANT, parse_instant
from app.web.etag import IfMatch
from app.web.json import ApiResponse

ActivityId = Annotated[int, Parameter(description="Activity id")]


def _storable(value: int | None) -> int | None:
    """An id past PostgreSQL's bigint can name no record: it filters for 0, which matches none."""
    return 0 if value is not None and value > schemas.BIGINT_MAX else value


async def provide_activity_filters(
    owner_id: Annotated[int | None, Parameter(ge=1, description="The owner's tasks")] = None,
    type: Annotated[schemas.ActivityType | None, Parameter(description="call, meeting, email, whatsapp, viewing or todo")] = None,
    due_after: Annotated[str | None, Parameter(description="Due at or after, RFC 3339", schema_extra=INSTANT)] = None,
    due_before: Annotated[str | None, Parameter(description="Due before, RFC 3339", schema_extra=INSTANT)] = None,
    overdue: Annotated[bool | None, Parameter(description="true: open and past due; false: none of those")] = None,
    done: Annotated[bool | None, Parameter(description="true: done; false: still to do")] = None,
    lead_id: Annotated[int | None, Parameter(ge=1, description="Tasks about this lead")] = None,
    contact_id: Annotated[int | None, Parameter(ge=1, description="Tasks about this contact")] = None,
    deal_id: Annotated[int | None, Parameter(ge=1, description="Tasks about this deal")] = None,
    property_id: Annotated[int | None, Parameter(ge=1, description="Tasks about this property")] = None,
    ticket_id: Annotated[int | None, Parameter(ge=1, description="Tasks about this ticket")] = None,
) -> service.ActivityFilters:
    """The filters of the activities list."""
    return service.ActivityFilters(
        owner_id=_storable(owner_id),
        type=type,
        due_after=parse_instant("due_after", due_after),
        due_before=parse_instant("due_before", due_before),
        overdue=overdue,
        done=done,
        lead_id=_storable(lead_id),
        contact_id=_storable(contact_id),
        deal_id=_storable(deal_id),
        property_id=_storable(property_id),
        ticket_id=_storable(ticket_id),
    )


class OutcomeLogged(ResponseBody):
    """What one move recorded: the task (done), the call logged for it (if it was a call to a number), the next task."""

    activity: schemas.Activity
    call_id: int | None
    next_activity: schemas.Activity | None


class ActivityController(Controller):
    """Tasks and follow-ups: calls, meetings, e-mails, WhatsApp messages, viewings and to-dos, with their owners,
    due times and outcomes, linked to leads, contacts, deals, properties and tickets."""

    path = "/v2/activities"
    opt = resource_opt("activities")  # its scopes: activities:read, activities:write
    tags = ["Activities"]

    @get(
        "/",
        operation_id="listActivities",
        summary="List activities",
        guards=[guard(policy.VIEW)],
        dependencies={"filters": Provide(provide_activity_filters)},
        opt={SORTS_OPT: service.SORTS},
    )
    async def list_activities(self, tenant: TenantScope, list_query: ListQuery, filters: service.ActivityFilters) -> Page[schemas.Activity]:
        """Soonest due first (undated last); sortable by `due_at`, `created_at`, `updated_at`, `done_at`. Agents and
        support staff see their own and unowned tasks."""
        return await service.list_activities(tenant, filters, list_query)

    @post("/", operation_id="createActivity", summary="Plan an activity", guards=[guard(policy.MANAGE)], status_code=201)
    async def create_activity(self, tenant: TenantScope, data: schemas.ActivityCreate) -> ApiResponse[schemas.Activity]:
        """The owner defaults to the caller (agents name only themselves). Links are checked (422 `unknown_reference`).
        Publishes `activity.created`; the linked record's timeline tells of it."""
        task = await service.create_activity(tenant, data)
        return ApiResponse(task, status_code=201, headers={"Location": f"/v2/activities/{task.id}"})

    @post(
        "/from-recommendation",
        operation_id="createActivityFromRecommendation",
        summary="Make a lead's score recommendation a task",
        guards=[guard(policy.MANAGE)],
        status_code=201,
    )
    async def from_recommendation(self, tenant: TenantScope, data: schemas.FromRecommendation) -> ApiResponse[schemas.Activity]:
        """ "Call within 15 minutes" becomes a call due in 15 minutes for the lead's agent; asking again while it is open
        answers the same task."""
        task = await service.from_recommendation(tenant, data)
        return ApiResponse(task, status_code=201, headers={"Location": f"/v2/activities/{task.id}"})

    @get("/{activity_id:int}", operation_id="getActivity", summary="Get an activity", guards=[guard(policy.VIEW)])
    async def get_activity(self, tenant: TenantScope, activity_id: ActivityId) -> schemas.Activity:
        """404 for other tenants' ids (and, for agents, colleagues' tasks)."""
        return await service.get_activity(tenant, activity_id)

    @patch("/{activity_id:int}", operation_id="updateActivity", summary="Change an activity", guards=[guard(policy.MANAGE)])
    async def update_activity(
        self, tenant: TenantScope, activity_id: ActivityId, data: schemas.ActivityUpdate, if_match: IfMatch = None
    ) -> schemas.Activity:
        """Reschedule, reassign, complete (`done: true`, with an `outcome`) or reopen. Honours `If-Match`. Publishes
        `activity.updated` (and `activity.completed`)."""
        return await service.update_activity(tenant, activity_id, data, if_match=if_match)

    @put(
        "/{activity_id:int}",
        operation_id="putActivity",
        summary="Change an activity (PUT, as the reference)",
        guards=[guard(policy.MANAGE)],
    )
    async def put_activity(
        self, tenant: TenantScope, activity_id: ActivityId, data: schemas.ActivityUpdate, if_match: IfMatch = None
    ) -> schemas.Activity:
        """The same as PATCH: fields left out are unchanged."""
        return await service.update_activity(tenant, activity_id, data, if_match=if_match)

    @delete("/{activity_id:int}", operation_id="deleteActivity", summary="Delete an activity", guards=[guard(policy.MANAGE)])
    async def delete_activity(self, tenant: TenantScope, activity_id: ActivityId) -> None:
        """For a task planned by mistake; publishes `activity.deleted`."""
        await service.delete_activity(tenant, activity_id)

    @post(
        "/{activity_id:int}/outcome",
        operation_id="logActivityOutcome",
        summary="Log the outcome and the next step",
        guards=[guard(policy.MANAGE)],
        status_code=200,
    )
    async def log_outcome(self, tenant: TenantScope, activity_id: ActivityId, data: schemas.LogOutcome) -> OutcomeLogged:
        """One move: a call task's call goes in the call log (completed, or failed when nobody answered), the task is
        done with its outcome and note, and the next task is planned when `next_subject` or `next_due_at` is given."""
        logged = await workspace.log_outcome(tenant, activity_id, data)
        return OutcomeLogged(activity=logged.task, call_id=logged.call_id, next_activity=logged.next_task)
