"""The tenant table."""

from __future__ import annotations

from piccolo.columns import BigSerial, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Tenant(Table, tablename="tenant"):
    """A customer organisation. Row-level security shows a tenant only its own row."""

    id = BigSerial(primary_key=True)
    name = Varchar(length=200)
    slug = Varchar(length=80, unique=True)
    plan = Varchar(length=20, default="starter")
    time_zone = Varchar(length=64, default="UTC")  # an IANA zone; screens show times in it unless a person chose their own
    # API requests per minute, set by the installation's operator (`atrium tenant set-rate-limit`):
    # NULL follows the plan's limit, 0 is unlimited. Tenants can read it, never change it.
    rate_limit = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
