"""Calls, what happened during them (transfers, provider events) and the tenant's telephony providers."""

from __future__ import annotations

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.contacts.tables import Contact
from app.leads.tables import Lead
from app.support.tables import Ticket
from app.tenancy.tables import Tenant


class TelephonyProvider(Table, tablename="telephony_provider"):
    """A PBX or telephony service (§5.1). Its password and its webhook secret are kept encrypted (app.calls.secrets),
    never returned."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=100)
    provider_type = Varchar(length=20, default="asterisk")
    host = Varchar(length=253)
    port = Integer(default=5060)
    username = Varchar(length=100, default="")
    password_encrypted = Text(default="")
    context = Varchar(length=100, default="")
    api_url = Varchar(length=300, null=True, default=None)  # a REST provider's base URL (Twilio-style), when it has one
    webhook_secret_encrypted = Text(default="")
    is_active = Boolean(default=True)
    last_tested_at = Timestamptz(null=True, default=None)
    last_test_ok = Boolean(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Call(Table, tablename="call"):
    """A phone call: its direction and status, numbers, agent and queue, when it started, was answered and ended (the
    wait and talk times follow), its outcome, and the lead, contact or ticket it was about."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    direction = Varchar(length=10, default="outbound")
    status = Varchar(length=10, default="ringing")
    from_number = Varchar(length=32, default="")
    to_number = Varchar(length=32, default="")
    agent_id = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    queue = Varchar(length=60, default="")
    started_at = Timestamptz(default=TimestamptzNow())
    answered_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)
    disposition = Varchar(length=60, default="")
    notes = Text(default="")
    transcript = Text(default="")
    lead_id = ForeignKey(references=Lead, on_delete=OnDelete.set_null, null=True)
    contact_id = ForeignKey(references=Contact, on_delete=OnDelete.set_null, null=True)
    ticket_id = ForeignKey(references=Ticket, on_delete=OnDelete.set_null, null=True)
    campaign_id = BigInt(null=True, default=None)
    provider_id = ForeignKey(references=TelephonyProvider, on_delete=OnDelete.set_null, null=True)
    external_id = Varchar(length=100, null=True, default=None)  # the provider's id of the call
    provider_status = Varchar(length=12, null=True, default=None)  # queued, accepted or failed: what the provider did with a dial
    provider_error = Text(null=True, default=None)
    created_by = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class CallEvent(Table, tablename="call_event"):
    """Something that happened to a call: a transfer (blind, attended, conference) or a provider's event. A provider's
    `external_event_id` is recorded once, so a webhook delivered twice is applied once."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    call_id = ForeignKey(references=Call, on_delete=OnDelete.cascade, null=False)
    kind = Varchar(length=20)
    transfer_type = Varchar(length=12, null=True, default=None)
    extension = Varchar(length=32, null=True, default=None)
    provider_id = BigInt(null=True, default=None)
    external_event_id = Varchar(length=100, null=True, default=None)
    data = JSONB(default="{}")
    created_by = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
