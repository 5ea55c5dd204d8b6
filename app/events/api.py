"""JSON API: live updates over SSE (the real-estate guide's "Real-Time Features")."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import ServerSentEvent

from app.core.errors import AuthenticationError
from app.core.schemas import ResponseBody
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.domains import api_resources
from app.events import live
from app.events.stream import actor_of, issue_token, read_token, readable_of, still_valid
from app.settings import Settings
from app.web.auth import current_principal, guard
from app.web.openapi import MINIMUM_ZERO


class SseToken(ResponseBody):
    """A short-lived token for one stream, bound to the tenant and the caller."""

    sse_token: str
    stream_url: str
    expires_in: int


class LiveController(Controller):
    """Server-sent events: every outbox event of the tenant as it commits."""

    path = "/v2/sse"
    opt = resource_opt("events")  # its scopes: events:read, events:write
    tags = ["Live updates"]

    @post("/token", operation_id="createSseToken", summary="Get a stream token", status_code=200, guards=[guard(write=False)])
    async def token(self, request: Request[Any, Any, Any], tenant: TenantScope, settings: Settings) -> SseToken:
        """Valid for 15 minutes to open a stream (an open stream stays open)."""
        principal = current_principal(request)
        resources = api_resources()
        readable = [r for r in resources if principal.may(r, "read")]
        token, ttl = issue_token(
            settings.secret_key,
            tenant.tenant_id,
            principal.user_id,
            principal.credential_id,
            None if len(readable) == len(resources) else readable,  # a key limited to some resources streams only theirs
            role=tenant.role or "",
        )
        return SseToken(sse_token=token, stream_url=f"{settings.base_url}/v2/sse/stream?token={token}", expires_in=ttl)

    @get("/stream", operation_id="openSseStream", summary="The event stream", security=[], media_type="text/event-stream")
    async def stream(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        token: Annotated[str, Parameter(description="From POST /v2/sse/token", max_length=2000)],
        last_event_id: Annotated[
            int | None, Parameter(ge=0, le=2**63 - 1, description="Resume after this event id", schema_extra=MINIMUM_ZERO)
        ] = None,
        topic: Annotated[str | None, Parameter(max_length=40, description="Only `lead`, `contact`… events")] = None,
    ) -> ServerSentEvent:
        """Each message: `id` (resume with `Last-Event-ID`), `event` (the event type, e.g. `lead.qualified`,
        `task_completed`), `data` (the event's data as JSON). A keep-alive comment every 15 seconds."""
        bound = read_token(settings.secret_key, token)
        if bound is None or not await still_valid(*bound):
            raise AuthenticationError("The stream token is invalid or expired: get a new one from POST /v2/sse/token")
        resume = live.last_event_id(request.headers.get("last-event-id"), last_event_id)
        readable = readable_of(settings.secret_key, token)
        actor = actor_of(settings.secret_key, token)
        assert actor is not None  # the token was read above
        # The same visibility as the browser's stream: a role that may not see a domain's records gets none of their
        # events (finance: no ticket or call events), whatever its scopes.
        return live.feed(bound[0], resume, live.visible_to(actor, live.matching(topic, None, readable)), credential=bound[1])
