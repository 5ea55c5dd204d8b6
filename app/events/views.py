"""The browser's live feed (session cookie): the same events, filtered to what a screen shows."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import ServerSentEvent

from app.db import TenantScope
from app.events import live
from app.web.auth import guard


class LivePagesController(Controller):
    """`/events/stream?topic=lead` for a list, `?subject=lead:42` for one record's page."""

    path = "/events"
    include_in_schema = False

    @get("/stream", guards=[guard()])
    async def stream(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        topic: Annotated[str | None, Parameter(max_length=40)] = None,
        subject: Annotated[str | None, Parameter(max_length=60)] = None,
        after: Annotated[int | None, Parameter(ge=0, le=2**63 - 1)] = None,
    ) -> ServerSentEvent:
        """Live events for the screen that opened it, from `after` (the newest event when the page was drawn)."""
        resume = live.last_event_id(request.headers.get("last-event-id"), after)
        return live.feed(tenant.tenant_id, resume, live.matching(topic, subject))
