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
        wanted = live.matching(topic, subject)
        # Every screen's stream also carries the person's own notifications, so the bell redraws on any live page.
        return live.feed(tenant.tenant_id, resume, live.visible_to(tenant, lambda e: e.type == "notification.created" or wanted(e)))


class NotificationPagesController(Controller):
    """The signed-in person's notifications: a badge in the top bar and a page listing them."""

    path = "/notifications"
    include_in_schema = False
    guards = [guard()]

    @get("/")
    async def index(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Latest notifications, unread first, and what the person chooses to be told."""
        items = await notifications.recent(tenant)
        ctx = {"items": items, "unread": sum(1 for n in items if n.read_at is None), "kinds": notifications.KINDS,
               "prefs": await notifications.preferences(tenant), "saved": False}  # fmt: skip
        return render(request, "notifications.html", ctx)

    @post("/preferences")
    async def save_preferences(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Keep which kinds the person gets (ticked) and whether a daily e-mail digest comes."""
        form = await request.form()
        wanted = {str(v) for v in form.getall("kinds")} if "kinds" in form else set()
        prefs = await notifications.set_preferences(tenant, [k for k in notifications.KINDS if k not in wanted], form.get("digest") == "1")
        ctx = {"kinds": notifications.KINDS, "prefs": prefs, "saved": True}
        return render(request, "notifications.html", ctx, block="preferences")

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
