"""Automation rules (the API's workflows) and the log of their runs."""

from __future__ import annotations

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tenancy.tables import Tenant


class Workflow(Table, tablename="workflow"):
    """When an outbox event of type `trigger` happens and every condition holds, do the actions in order.

    `builtin` names a rule every tenant starts with (`hot_lead_call`: a hot lead gets a due-now call task), which an
    admin may turn off or change but which is made again for no one."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=200)
    trigger = Varchar(length=60)
    conditions = JSONB(default=[])
    actions = JSONB(default=[])
    active = Boolean(default=True)
    builtin = Varchar(length=40, default="")
    created_by = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class WorkflowRun(Table, tablename="workflow_run"):
    """One rule run on one event: at most one per (rule, event), so a rule acts exactly once per event."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    workflow_id = ForeignKey(references=Workflow, on_delete=OnDelete.cascade, null=False)
    event_id = BigInt()
    event_type = Varchar(length=60)
    subject_type = Varchar(length=30, default="")
    subject_id = BigInt(null=True, default=None)
    status = Varchar(length=10, default="done")
    detail = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
