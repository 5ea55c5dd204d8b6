"""Tasks and follow-ups (the API's `activities`): a call, meeting, e-mail, WhatsApp message, viewing or to-do of an owner,
due at a time, done or not, linked to the lead, contact, deal, property or ticket it is about."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.tenancy.tables import Tenant


class Task(Table, tablename="task"):
    """One thing to do. The timeline (`activity`) records what happened; a task is what is planned, and what came of it.

    Its links reference lead, contact, deal, property, ticket, appointment and call in the migration (this domain's
    tables import none of theirs). `source` says where it came from: by hand, a score recommendation or a rule."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    type = Varchar(length=20, default="todo")
    subject = Varchar(length=200)
    due_at = Timestamptz(null=True, default=None)
    duration_minutes = Integer(null=True, default=None)
    done = Boolean(default=False)
    done_at = Timestamptz(null=True, default=None)
    outcome = Varchar(length=60, default="")
    notes = Text(default="")
    owner_id = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    lead_id = BigInt(null=True, default=None)
    contact_id = BigInt(null=True, default=None)
    deal_id = BigInt(null=True, default=None)
    property_id = BigInt(null=True, default=None)
    ticket_id = BigInt(null=True, default=None)
    appointment_id = BigInt(null=True, default=None)
    call_id = BigInt(null=True, default=None)
    source = Varchar(length=20, default="manual")
    due_notified_at = Timestamptz(null=True, default=None)  # its owner was told it is due
    created_by = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
