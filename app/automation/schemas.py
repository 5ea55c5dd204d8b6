"""Request and response types of automation rules (the API's workflows) and their run log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.schemas import RecordId, RequestBody, ResponseBody

Operator = Literal["eq", "ne", "in", "gte", "lte", "contains", "changed_to"]
ActionType = Literal["assign", "create_task", "set_status", "add_tag", "send_template", "call_webhook"]
TaskType = Literal["call", "meeting", "email", "whatsapp", "viewing", "todo"]
LeadStatus = Literal["NEW", "CONTACTED", "QUALIFIED", "VIEWING_SCHEDULED", "NEGOTIATING", "WON", "LOST"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Field = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z_]{1,40}$", description="A field of the event's data: status, hotness_score, source, budget_max, agent_id…"
    ),
]
EventType = Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,30}\.[a-z_]{1,30}$", description="An event type, e.g. lead.status_changed")]


class Condition(RequestBody, kw_only=True):
    """`field op value` on the event's data: `{"field": "status", "op": "eq", "value": "QUALIFIED"}`. `changed_to` holds
    when the field has that value now and had another before (`previous_<field>` or the lead before the change)."""

    field: Field
    op: Operator = "eq"
    value: str | int | float | bool | list[str | int] | None = None


class Action(RequestBody, kw_only=True):
    """One thing a rule does, in order:

    - `assign`: `to: "round_robin"` among the active agents (each rule keeps its own turn) or `user_id`;
    - `create_task`: a `task_type` task `subject`, due in `due_in_minutes`, for `owner` (`lead_agent`, else `user_id`);
    - `set_status`: the lead's `status`;
    - `add_tag`: a `tag` in the lead's custom field `tags`;
    - `send_template`: the message template `template_id` to the lead (by e-mail or SMS: `channel`, else the template's
      own), through generate-and-send, once per event;
    - `call_webhook`: the event to the registered webhook `webhook_id` (`POST /v2/webhooks`), signed, retried and
      logged like a subscription's deliveries, once per event.

    What an action needs besides its type (a status, a tag, a user, a template, a webhook) is checked by the server
    (422 `reason: incomplete_action`, or `unknown_reference` for an id that is not the tenant's).
    """

    type: ActionType
    to: Literal["round_robin", "user"] | None = None
    user_id: RecordId | None = None
    task_type: TaskType = "call"
    subject: Annotated[str, msgspec.Meta(max_length=200)] = ""
    due_in_minutes: Annotated[int, msgspec.Meta(ge=0, le=525_600)] = 0
    owner: Literal["lead_agent", "user"] = "lead_agent"
    status: LeadStatus | None = None
    tag: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    template_id: RecordId | None = None
    channel: Literal["email", "sms"] | None = None
    webhook_id: RecordId | None = None


class Workflow(ResponseBody):
    """An automation rule: when `trigger` happens and every condition holds, do the actions."""

    id: int
    name: str
    trigger: str
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    active: bool
    builtin: str
    runs: int
    last_run_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WorkflowCreate(RequestBody, kw_only=True):
    """A new rule. Its trigger is an event type (the webhooks' list); conditions are all required to hold."""

    name: Name
    trigger: EventType
    conditions: Annotated[list[Condition], msgspec.Meta(max_length=20)] = []
    actions: Annotated[list[Action], msgspec.Meta(min_length=1, max_length=10)]
    active: bool = True


class WorkflowUpdate(RequestBody, kw_only=True):
    """A partial change; fields left out are unchanged."""

    name: Name | UnsetType = UNSET
    trigger: EventType | UnsetType = UNSET
    conditions: Annotated[list[Condition], msgspec.Meta(max_length=20)] | UnsetType = UNSET
    actions: Annotated[list[Action], msgspec.Meta(min_length=1, max_length=10)] | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class WorkflowRun(ResponseBody):
    """One run of a rule on one event: what it did, or why not."""

    id: int
    workflow_id: int
    event_id: int
    event_type: str
    subject_type: str
    subject_id: int | None
    status: str
    detail: str
    created_at: datetime
