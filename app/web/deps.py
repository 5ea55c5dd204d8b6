"""Litestar dependencies every controller may declare: the tenant scope, settings, the queue."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide
from saq import Queue

from app.db import TenantScope
from app.settings import Settings
from app.web.auth import current_principal
from app.web.context import scope_for
from app.web.pagination import provide_list_query


async def provide_scope(request: Request[Any, Any, Any]) -> TenantScope:
    """The caller's tenant scope (401 when unauthenticated)."""
    return scope_for(current_principal(request), request.scope)  # type: ignore[arg-type]


async def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    """The application settings."""
    settings: Settings = request.app.state.settings
    return settings


async def provide_queue(request: Request[Any, Any, Any]) -> Queue:
    """The SAQ queue jobs are enqueued on."""
    queue: Queue = request.app.state.queue
    return queue


DEPENDENCIES = {
    "tenant": Provide(provide_scope),
    "settings": Provide(provide_settings),
    "queue": Provide(provide_queue),
    "list_query": Provide(provide_list_query),
}
