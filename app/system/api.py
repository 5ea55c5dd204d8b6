"""JSON API: health."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.openapi import ResponseSpec
from litestar.response import Redirect
from saq import Queue

from app import __version__
from app.core.schemas import ResponseBody
from app.db import fetch, system_transaction
from app.web.json import ApiResponse


class ComponentHealth(ResponseBody):
    """One dependency's state."""

    status: str
    latency_ms: float | None = None
    backend: str | None = None
    detail: str | None = None


class Health(ResponseBody):
    """Overall state: `healthy` only when every component is up."""

    status: str
    version: str
    environment: str
    services: dict[str, str]
    uptime_seconds: int
    timestamp: datetime
    database: ComponentHealth
    queue: ComponentHealth


async def _database() -> ComponentHealth:
    started = time.perf_counter()
    try:
        async with system_transaction():  # the system login's pool: the one every request's credentials are read on
            await fetch("SELECT 1")
    except Exception as exc:
        return ComponentHealth(status="down", detail=type(exc).__name__)
    return ComponentHealth(status="up", latency_ms=round((time.perf_counter() - started) * 1000, 2))


async def _queue(queue: Queue) -> ComponentHealth:
    backend = "redis" if type(queue).__name__.startswith("Redis") else "postgres"
    started = time.perf_counter()
    try:
        await queue.count("queued")
    except Exception as exc:
        return ComponentHealth(status="down", backend=backend, detail=type(exc).__name__)
    return ComponentHealth(status="up", backend=backend, latency_ms=round((time.perf_counter() - started) * 1000, 2))


@get("/v2/docs", include_in_schema=False)
async def api_docs() -> Redirect:
    """Short address of the interactive API documentation."""
    return Redirect(path="/v2/schema/swagger")


class HealthController(Controller):
    """Liveness and readiness for load balancers and operators."""

    path = "/v2/health"
    tags = ["System"]

    @get(
        "/",
        operation_id="health",
        summary="Health of the service, its database and queue",
        responses={503: ResponseSpec(Health, description="The database or the queue is down", generate_examples=False)},
    )
    async def health(self, request: Request[Any, Any, Any], queue: Queue) -> ApiResponse[Health]:
        """200 when healthy, 503 when the database or queue is down."""
        database, queue_health = await _database(), await _queue(queue)
        healthy = database.status == "up" and queue_health.status == "up"
        settings = request.app.state.settings
        body = Health(
            status="healthy" if healthy else "unhealthy",
            version=__version__,
            # The enterprise guide's fields beside Atrium's own.
            environment=settings.environment,
            services={
                "database": "connected" if database.status == "up" else "disconnected",
                "queue": "connected" if queue_health.status == "up" else "disconnected",
                "live_updates": "active",
            },
            uptime_seconds=int(time.monotonic() - request.app.state.started_at),
            timestamp=datetime.now(UTC).replace(microsecond=0),
            database=database,
            queue=queue_health,
        )
        return ApiResponse(body, status_code=200 if healthy else 503)
