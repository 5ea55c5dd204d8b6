"""Litestar dependencies every controller (API or screen) may declare: the tenant scope, list paging, settings, the queue."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.di import Provide
from litestar.openapi.spec import OpenAPIFormat, Schema
from litestar.params import Parameter
from saq import Queue

from app.core.errors import ValidationFailed
from app.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, ListQuery
from app.db import TenantScope
from app.settings import Settings
from app.web.auth import current_principal
from app.web.context import scope_for
from app.web.openapi import MINIMUM_ZERO


async def provide_scope(request: Request[Any, Any, Any]) -> TenantScope:
    """The caller's tenant scope (401 when unauthenticated; the screens answer that with the login page)."""
    return scope_for(current_principal(request), request.scope)  # type: ignore[arg-type]


async def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    """The application settings."""
    settings: Settings = request.app.state.settings
    return settings


async def provide_queue(request: Request[Any, Any, Any]) -> Queue:
    """The SAQ queue jobs are enqueued on."""
    queue: Queue = request.app.state.queue
    return queue


async def provide_list_query(
    limit: Annotated[int | None, Parameter(ge=1, le=MAX_LIMIT, description="Items per page (1-100, default 50)")] = None,
    offset: Annotated[int | None, Parameter(ge=0, le=1_000_000, description="Items to skip", schema_extra=MINIMUM_ZERO)] = None,
    sort: Annotated[str | None, Parameter(description="Sort field; prefix with `-` for descending, e.g. `-created_at`")] = None,
    page: Annotated[int | None, Parameter(ge=1, le=100_000, description="Page number from 1 (other guides' paging; with per_page)")] = None,
    per_page: Annotated[int | None, Parameter(ge=1, le=MAX_LIMIT, description="Items per page, with `page`")] = None,
    page_size: Annotated[int | None, Parameter(query="pageSize", ge=1, le=MAX_LIMIT, description="Items per page, with `page`")] = None,
    skip: Annotated[
        int | None, Parameter(ge=0, le=1_000_000, description="Items to skip (same as offset)", schema_extra=MINIMUM_ZERO)
    ] = None,
) -> ListQuery:
    """The list parameters of any collection endpoint: `limit`/`offset`, or the other guides' words
    (`page` with `per_page` or `pageSize`, `skip`), mapped onto them; the answer says which page it is."""
    size = limit or per_page or page_size or DEFAULT_LIMIT
    if offset is None:
        offset = skip if skip is not None else ((page - 1) * size if page is not None else 0)
    # A page past the last one is an empty page with the right total, as HubSpot and Pipedrive answer (not a 422).
    return ListQuery(limit=size, offset=offset, sort=sort)


# RFC 3339 (the OpenAPI `date` and `date-time` formats): the server reads exactly what the schema says, no Unix times.
INSTANT = {"format": "date-time"}
DAY_OR_INSTANT = {"any_of": [Schema(format=OpenAPIFormat.DATE), Schema(format=OpenAPIFormat.DATE_TIME)]}
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_instant(name: str, raw: str | None, *, days: bool = False, end: bool = False) -> datetime | None:
    """A query parameter's RFC 3339 date-time (or, with `days`, a bare date: its start, or as an `end` the start of the
    next day), in UTC when it names no offset; anything else (a Unix time, a week date) is a 422 naming the field."""
    if raw is None:
        return None
    try:
        if days and _DAY.fullmatch(raw):
            day = date.fromisoformat(raw)
            if end and day == date.max:  # the last day there is ends with time itself
                return datetime.max.replace(tzinfo=UTC)
            return datetime(day.year, day.month, day.day, tzinfo=UTC) + (timedelta(days=1) if end else timedelta())
        moment = msgspec.convert(raw, datetime, strict=True)
    except (ValueError, msgspec.ValidationError):
        example = "2026-12-01 or 2026-12-01T09:30:00Z" if days else "2026-12-01T09:30:00Z"
        raise ValidationFailed(
            f"Invalid {name}: not an RFC 3339 {'date or ' if days else ''}date-time",
            details={"field": name, "provided": raw, "expected": f"an RFC 3339 {'date or ' if days else ''}date-time, like {example}"},
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # the first or last day there is, shifted past it by its offset: as far as time goes
        return datetime.min.replace(tzinfo=UTC) if moment.year == 1 else datetime.max.replace(tzinfo=UTC)


DEPENDENCIES = {
    "tenant": Provide(provide_scope),
    "settings": Provide(provide_settings),
    "queue": Provide(provide_queue),
    "list_query": Provide(provide_list_query),
}
