"""Litestar dependencies every controller (API or screen) may declare: the tenant scope, list paging, settings, the queue."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.di import Provide
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
    if offset > 1_000_000:
        raise ValidationFailed(
            "Invalid page: past the last page that can be asked for",
            details={"field": "page", "provided": page, "expected": "a smaller page"},
        )
    return ListQuery(limit=size, offset=offset, sort=sort)


DEPENDENCIES = {
    "tenant": Provide(provide_scope),
    "settings": Provide(provide_settings),
    "queue": Provide(provide_queue),
    "list_query": Provide(provide_list_query),
}
