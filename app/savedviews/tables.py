"""Saved views of list screens: a name for a list's state (filters, sort, columns, page size), a person's own or
shared with the team."""

from __future__ import annotations

from piccolo.columns import BigSerial, Boolean, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.tenancy.tables import Tenant


class SavedView(Table, tablename="saved_view"):
    """A list screen's state under a name: `query` is the screen's URL query (what Back, reload and links use too)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, null=False)
    screen = Varchar(length=30, default="leads")
    name = Varchar(length=60)
    query = Text(default="")
    shared = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
