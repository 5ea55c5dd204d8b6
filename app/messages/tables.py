"""Message templates, the communications sent from them (with their delivery status), the provider events that
moved them on, the tenant's provider webhook secrets and the addresses that opted out."""

from __future__ import annotations

from piccolo.columns import JSONB, Array, BigInt, BigSerial, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.leads.tables import Lead
from app.properties.tables import Property
from app.tenancy.tables import Tenant


class MessageTemplate(Table, tablename="message_template"):
    """An e-mail or SMS template: Jinja2 placeholders (`{{address}}`, `{{owner_name}}`…) rendered in a sandbox."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=100)
    type = Varchar(length=5, default="email")
    subject_template = Text(default="")
    body_template = Text(default="")
    stage = Varchar(length=30, default="outreach")
    is_active = Boolean(default=True)
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Communication(Table, tablename="communication"):
    """A message rendered for a property's owner or a lead and sent (or being sent) by e-mail or SMS; its status moves
    on with the provider's events (delivered, opened, replied…). `idempotency_key` is unique per tenant: the same memo
    asked twice in a day is the same row."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    template_id = ForeignKey(references=MessageTemplate, on_delete=OnDelete.set_null, null=True)
    property_id = ForeignKey(references=Property, on_delete=OnDelete.set_null, null=True)
    lead_id = ForeignKey(references=Lead, on_delete=OnDelete.set_null, null=True)
    channel = Varchar(length=5, default="email")
    recipient = Varchar(length=254, default="")
    recipient_name = Varchar(length=200, default="")
    subject = Text(default="")
    body = Text(default="")
    status = Varchar(length=12, default="queued")
    transport = Varchar(length=10, default="")  # smtp, sms_api, or outbox (kept locally, shown in the UI)
    error = Text(default="")
    provider_message_id = Varchar(length=200, null=True, default=None)
    idempotency_key = Varchar(length=200, null=True, default=None)
    task_id = Varchar(length=200, default="")
    sent_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)
    opened_at = Timestamptz(null=True, default=None)
    clicked_at = Timestamptz(null=True, default=None)
    replied_at = Timestamptz(null=True, default=None)
    reply_text = Text(default="")
    sequence_id = BigInt(null=True, default=None)  # the nurture sequence it is a touchpoint of
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ProviderEvent(Table, tablename="message_provider_event"):
    """An inbound provider webhook's event, kept once per (provider, event id): the unique index is what makes the same
    event arriving twice at the same moment apply once. Also the log of what providers sent."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    provider = Varchar(length=20)
    event_id = Varchar(length=200)
    event_type = Varchar(length=60, default="")
    communication_id = BigInt(null=True, default=None)
    outcome = Varchar(length=200, default="")
    payload = JSONB(default="{}")
    received_at = Timestamptz(default=TimestamptzNow())


class ProviderSecret(Table, tablename="message_provider_secret"):
    """The secret a provider signs its webhooks to this tenant with (encrypted at rest, like telephony's)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    provider = Varchar(length=20)
    secret_encrypted = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class OptOut(Table, tablename="message_opt_out"):
    """An address (e-mail or phone number) that asked not to be messaged again on that channel."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    channel = Varchar(length=5)
    address = Varchar(length=254)
    reason = Varchar(length=60, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class NurtureSequence(Table, tablename="nurture_sequence"):
    """A lead's follow-up sequence: touchpoints on days 3, 7 and 30 after its start (NURTURE_DAY_SECONDS shortens a day
    in tests), each rendered from a template and sent as a communication by a scheduled SAQ job; stopped by hand, by a
    reply, an opt-out or the lead's conversion."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    lead_id = ForeignKey(references=Lead, on_delete=OnDelete.cascade, null=False)
    sequence_type = Varchar(length=40, default="nurture")
    channel = Varchar(length=5, default="email")
    template_ids = Array(base_column=BigInt(), default=list)
    status = Varchar(length=10, default="active")
    stop_reason = Varchar(length=60, default="")
    touchpoints_total = Integer(default=3)
    touchpoints_sent = Integer(default=0)
    next_touchpoint_at = Timestamptz(null=True, default=None)
    started_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    started_at = Timestamptz(default=TimestamptzNow())
    stopped_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
