"""The browser's live feed (session cookie): the same events, filtered to what a screen shows."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import ServerSentEvent, Template

from app.db import TenantScope
from app.events import live, notifications
from app.web.auth import guard
from app.web.ui import render


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
        return live.feed(tenant.tenant_id, resume, live.visible_to(tenant, live.matching(topic, subject)))


class NotificationPagesController(Controller):
    """The signed-in person's notifications: a badge in the top bar and a page listing them."""

    path = "/notifications"
    include_in_schema = False
    guards = [guard()]

    @get("/")
    async def index(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Latest notifications, unread first."""
        items = await notifications.recent(tenant)
        return render(request, "notifications.html", {"items": items, "unread": sum(1 for n in items if n.read_at is None)})

    @get("/badge")
    async def badge(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """The top bar's link with the unread count (loaded after the page)."""
        return render(request, "notifications.html", {"unread": await notifications.unread_count(tenant)}, block="badge")

    @post("/read")
    async def read_all(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Mark everything read."""
        await notifications.mark_all_read(tenant)
        items = await notifications.recent(tenant)
        return render(request, "notifications.html", {"items": items, "unread": 0}, block="list")
