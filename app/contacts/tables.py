"""Contacts and companies (their timelines are app.events' activity)."""

from __future__ import annotations

from piccolo.columns import BigSerial, ForeignKey, OnDelete, Text, Timestamptz, Varchar
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
