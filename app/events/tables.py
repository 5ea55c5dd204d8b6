"""The one timeline of every record, and the outbox of events written with each change."""

from __future__ import annotations

from piccolo.columns import JSON, JSONB, Array, BigInt, BigSerial, Boolean, Date, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tenancy.tables import Tenant


class Activity(Table, tablename="activity"):
    """One entry of a record's timeline (a lead, a contact, a deal…), linked to its contact when it has one.

    A record's timeline is `WHERE subject_type = … AND subject_id = …`; a contact's is `WHERE contact_id = …`
    (its own entries and those of its leads and deals). Both are one index read."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    subject_type = Varchar(length=30)
    subject_id = BigInt()
    contact_id = BigInt(null=True, default=None)
    kind = Varchar(length=40)
    summary = Text(default="")
    changes = JSONB(default={})
    actor_user_id = BigInt(null=True, default=None)
    actor = Varchar(length=254, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class OutboxEvent(Table, tablename="outbox_event"):
    """An event written in the same transaction as the change it describes.

    The relay (app.outbound.relay) turns it into webhook deliveries and marks it dispatched; the
    live stream reads it for `Last-Event-ID` resumes. `data` is JSON (not JSONB) so its keys keep
    the order of the reference payloads."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    event_type = Varchar(length=60)
    subject_type = Varchar(length=30, default="")
    subject_id = BigInt(null=True, default=None)
    data = JSON(default={})
    actor_user_id = BigInt(null=True, default=None)
    occurred_at = Timestamptz(default=TimestamptzNow())
    dispatched_at = Timestamptz(null=True, default=None)
    # Automation rules (app.automation) take each event once: set when its rules have run.
    automated_at = Timestamptz(null=True, default=None)
    # The rules whose actions wrote this event (set by a trigger from the runner's transaction), so no rule runs on
    # an event it caused, directly or through other rules.
    workflow_chain = Array(base_column=BigInt(), default=list)


class Notification(Table, tablename="notification"):
    """Something a person should know (a webhook endpoint failing, say), shown in the app until read."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    user_id = BigInt()
    kind = Varchar(length=60)
    message = Text()
    link = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    read_at = Timestamptz(null=True, default=None)


class NotificationSetting(Table, tablename="notification_setting"):
    """What a person chooses to be told: the kinds they muted, and whether they get a daily e-mail digest."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    user_id = BigInt()
    muted = Array(base_column=Varchar(length=40), default=list)
    digest = Boolean(default=False)
    digest_sent_on = Date(null=True, default=None)
