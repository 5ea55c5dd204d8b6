"""create_app(): the one place the Litestar application is assembled."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme
from litestar.plugins.htmx import HTMXPlugin
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from saq import Worker

from app import __version__
from app.accounts.authentication import AuthenticationMiddleware
from app.core.jobs import TaskFunction, use_heartbeat
from app.core.scopes import valid_scopes
from app.db import close_pool, configure_engine, open_pool, resolve_database
from app.domains import api_resources, domains, navigation
from app.events.live import stamp_own_events
from app.events.stream import BROKER
from app.settings import Settings, install
from app.web.bodies import refuse_lax_json
from app.web.context import stamp_response_headers, with_request_context
from app.web.dependencies import resolve_dependencies_in_order
from app.web.deps import DEPENDENCIES
from app.web.errors import exception_handler
from app.web.etag import ETagMiddleware
from app.web.idempotency import IdempotencyMiddleware
from app.web.json import ApiResponse
from app.web.media import MediaTypeMiddleware
from app.web.openapi import ClosedStructs, document_contract
from app.web.ratelimit import RateLimitMiddleware
from tasks.settings import make_queue, make_worker

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)
SWAGGER = "/static/vendor/swagger-ui-5.35.0"


async def _bounded(step: str, work: Awaitable[Any], seconds: float) -> None:
    """Await one shutdown step for at most `seconds`; past that, or when it fails, log which step (with every
    task still running, to find the culprit) and go on with the next."""
    future = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({future}, timeout=seconds)  # unlike wait_for, never waits on a refused cancel
    if done:
        if not future.cancelled() and future.exception() is not None:
            log.error("shutdown: %s failed; going on", step, exc_info=future.exception())
        return
    future.cancel()
    stuck = [f"{task.get_name()}: {task.get_coro()!r}" for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    log.error("shutdown: %s took longer than %s s; going on. Tasks still running: %s", step, seconds, stuck)


def create_app(
    settings: Settings,
    dsn: str,
    *,
    system_dsn: str | None = None,
    run_worker: bool = True,
    extra_task_functions: list[TaskFunction] | None = None,
) -> Litestar:
    """Build the application for an already-migrated database: tenant work as `dsn`'s login, system work and the
    queue as `system_dsn`'s (default: the same; see app.db.DatabaseUrls).

    With `run_worker`, the SAQ worker runs inside this process (the default single-process mode).
    """
    configure_engine(dsn, system_dsn)
    install(settings)
    use_heartbeat(settings.job_heartbeat)
    resolve_dependencies_in_order()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await open_pool()
        queue = make_queue(settings.queue_url, system_dsn or dsn)
        await queue.connect()
        app.state.queue = queue
        worker: Worker[Any] | None = None
        worker_task: asyncio.Task[None] | None = None
        if run_worker:
            worker = make_worker(
                queue,
                concurrency=settings.worker_concurrency,
                in_process=True,
                extra_functions=extra_task_functions,
                sweep_every=settings.job_sweep_interval,
            )
            worker_task = asyncio.create_task(worker.start())
            app.state.worker = worker
        try:
            yield
        finally:
            # Every step of the shutdown is bounded: one that never returns (a task that ignores its
            # cancellation, a connection someone still holds) is named in the log, and the rest still run.
            if worker is not None and worker_task is not None:
                await _bounded("stopping the job worker", worker.stop(), 20)
                worker_task.cancel()
                await _bounded("ending the job worker", asyncio.gather(worker_task, return_exceptions=True), 5)
            await _bounded("closing the live-update listener", BROKER.close(), 5)
            await _bounded("disconnecting the job queue", queue.disconnect(), 10)
            await _bounded("closing the database pool", close_pool(), 15)

    app = Litestar(
        route_handlers=[
            *(controller for domain in domains() for controller in domain.controllers),
            create_static_files_router(path="/static", directories=[ROOT / "static"], include_in_schema=False),
        ],
        dependencies=DEPENDENCIES,
        response_class=ApiResponse,
        middleware=[MediaTypeMiddleware, AuthenticationMiddleware, RateLimitMiddleware, IdempotencyMiddleware, ETagMiddleware],  # type: ignore[list-item]
        exception_handlers={Exception: exception_handler},
        before_request=refuse_lax_json,
        before_send=[stamp_response_headers, stamp_own_events],  # type: ignore[list-item]
        lifespan=[lifespan],
        state=State({"settings": settings, "started_at": time.monotonic(), "nav": navigation()}),
        template_config=TemplateConfig(directory=ROOT / "templates", engine=JinjaTemplateEngine),
        plugins=[HTMXPlugin(), ClosedStructs()],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=settings.csrf_cookie,
            header_name="x-csrf-token",
            cookie_secure=settings.cookie_secure,
            cookie_httponly=True,
            cookie_samesite="lax",
            # An e-mail's one-click unsubscribe (RFC 8058) is posted by the mail client: its signed link is the proof.
            exclude=["^/v2(/|$)", "^/static/", "^/unsubscribe/"],
        ),
        openapi_config=OpenAPIConfig(
            title="Atrium API",
            version=__version__,
            description=(
                "Atrium's JSON API. Authenticate with `X-API-Key` (optionally with `X-Tenant-ID`) "
                "or `Authorization: Bearer <token>`. Errors use one envelope: "
                '`{"error": {"code", "message", "details", "request_id"}}`.'
            ),
            path="/v2/schema",
            render_plugins=[
                SwaggerRenderPlugin(
                    path="/swagger",
                    js_url=f"{SWAGGER}/swagger-ui-bundle.js",
                    css_url=f"{SWAGGER}/swagger-ui.css",
                    standalone_preset_js_url=f"{SWAGGER}/swagger-ui-standalone-preset.js",
                    favicon="",
                )
            ],
            components=Components(
                security_schemes={
                    "ApiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
                    "Bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                    # The client-credentials grant and its scopes, derived from the installed API resources.
                    "OAuth2": SecurityScheme(
                        type="oauth2",
                        flows=OAuthFlows(
                            client_credentials=OAuthFlow(
                                token_url="/v2/oauth/token",
                                scopes={scope: _scope_description(scope) for scope in valid_scopes(api_resources())},
                            )
                        ),
                    ),
                }
            ),
        ),
        logging_config=LoggingConfig(root={"level": settings.log_level, "handlers": ["queue_listener"]}, log_exceptions="debug"),
        debug=False,
    )
    document_contract(app)  # error answers and security of every operation, before the document is first built
    _allow_every_method(app)
    app.asgi_handler = with_request_context(app.asgi_handler)  # type: ignore[arg-type,assignment]
    return app


def _allow_every_method(app: Litestar) -> None:
    """OPTIONS answers `Allow` with every method of its path (RFC 9110 §10.2.1).

    Litestar 2.25 builds a path's OPTIONS handler with the first handler registered there and, when the
    path's other handlers join it, keeps the handler reading the first route's methods (`Allow: OPTIONS,
    POST` on GET+POST /v2/users); the handler's route is pointed at the full set of methods instead.
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            continue
        handler, _ = route.route_handler_map["OPTIONS"]
        built_for = inspect.getclosurevars(handler.fn).nonlocals.get("self")
        if isinstance(built_for, HTTPRoute) and built_for is not route:
            built_for.methods = route.methods


def _scope_description(scope: str) -> str:
    resource, _, level = scope.partition(":")
    what = "every resource" if resource == "*" else resource
    return f"read and write {what}" if not level else ("GET on " if level == "read" else "read and change ") + what


def app_from_environment() -> Any:
    """ASGI factory for `uvicorn --factory app.asgi:app_from_environment` (needs DATABASE_URL)."""
    from app.settings import load_settings

    settings = load_settings()
    if settings.database_url is None:
        raise SystemExit("DATABASE_URL must be set to serve with an external ASGI server; or use `atrium serve`")
    # Workers run as `atrium worker` next to an external ASGI server; `atrium migrate` runs before either.
    urls = resolve_database(settings)
    return create_app(settings, urls.app, system_dsn=urls.system, run_worker=False)
