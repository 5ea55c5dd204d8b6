"""Contacts, companies and the contacts' activity."""

from __future__ import annotations

from piccolo.columns import JSONB, BigInt, BigSerial, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tenancy.tables import Tenant


class Company(Table, tablename="company"):
    """An organisation contacts work for."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=200)
    domain = Varchar(length=200, null=True, default=None)
    industry = Varchar(length=100, null=True, default=None)
    phone = Varchar(length=32, null=True, default=None)
    address = Varchar(length=300, null=True, default=None)
    notes = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Contact(Table, tablename="contact"):
    """A person: a buyer, an owner, a company's decision maker."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=200)
    email = Varchar(length=254, null=True, default=None)
    phone = Varchar(length=32, null=True, default=None)
    title = Varchar(length=100, null=True, default=None)
    company_id = ForeignKey(references=Company, on_delete=OnDelete.set_null, null=True)
    notes = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ContactActivity(Table, tablename="contact_activity"):
    """One entry of a contact's own timeline (its leads' timelines are merged in when read)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    contact_id = ForeignKey(references=Contact, on_delete=OnDelete.cascade, null=False)
    kind = Varchar(length=30)
    summary = Text(default="")
    changes = JSONB(default={})
    actor_user_id = BigInt(null=True, default=None)
    actor = Varchar(length=254, default="")
    created_at = Timestamptz(default=TimestamptzNow())
