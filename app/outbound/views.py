"""Settings → Webhooks: endpoints, the delivery log with request and response, test events, redelivery."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from saq import Queue

from app.core.errors import DomainError, ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery
from app.core.validation import convert_input
from app.db import TenantScope
from app.events.catalog import event_types
from app.outbound import delivery, policy, schemas, service
from app.outbound.samples import sample
from app.web.auth import guard
from app.web.ui import clean_form, refusal_stays_on_page, render

PAGE = 25


WebhookId = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
DeliveryId = Annotated[int, Parameter(ge=1, le=2**63 - 1)]


async def _form(request: Request[Any, Any, Any]) -> tuple[dict[str, str], list[str]]:
    """The form's fields (the CSRF token left out) and its ticked event types (a repeated field)."""
    form = await request.form()
    events = [str(v) for v in form.getall("events")] if "events" in form else []
    return clean_form({k: str(v) for k, v in form.items()}), events


class WebhookPagesController(Controller):
    """The tenant's webhooks, for admins."""

    path = "/settings/webhooks"
    include_in_schema = False
    guards = [guard(policy.MANAGE)]

    async def _index(self, request: Request[Any, Any, Any], tenant: TenantScope, **extra: Any) -> Template:
        hooks = await service.list_webhooks(tenant, ListQuery(limit=100))
        ctx = {"active": "settings", "tab": "webhooks", "hooks": hooks, "event_types": event_types(), "created": None, "errors": {}}
        return render(
            request, "settings/webhooks.html", {**ctx, **extra}, block="webhooks", status_code=422 if extra.get("errors") else 200
        )

    @get("/")
    async def index(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Endpoints and a form to add one."""
        return await self._index(request, tenant)

    @post("/")
    async def create(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Register an endpoint and show its secret this once."""
        values, events = await _form(request)
        try:
            fields = {
                "webhook_url": values.get("webhook_url", "").strip(),
                "events": events or ["*"],
                "description": values.get("description", ""),
            }
            created = await service.create(tenant, convert_input(fields, schemas.WebhookCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            field = "webhook_url" if exc.field in (None, "webhook_url", "url") else exc.field
            return await self._index(request, tenant, errors={field: exc.human}, values=values)
        return await self._index(request, tenant, created=created)

    @get("/{webhook_id:int}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        webhook_id: WebhookId,
        status: Annotated[str | None, Parameter(max_length=12)] = None,
        offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
        notice: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> Template:
        """One endpoint: its settings, its delivery log (filtered by status), test and redeliver buttons."""
        return await self._show(request, tenant, webhook_id, status or None, offset, notice=notice)

    async def _show(
        self, request: Request[Any, Any, Any], tenant: TenantScope, webhook_id: int, status: str | None, offset: int, **extra: Any
    ) -> Template:
        hook = await service.get(tenant, webhook_id)
        log = await service.deliveries(
            tenant, webhook_id, ListQuery(limit=PAGE, offset=offset), status if status in service.STATUSES else None
        )
        query = f"status={status}&" if status else ""
        ctx = {
            "active": "settings",
            "tab": "webhooks",
            "hook": hook,
            "log": log,
            "status": status or "",
            "statuses": service.STATUSES,
            "event_types": event_types(),
            "query": query,
            "revealed": None,
            "test_result": None,
            "notice": None,
            **extra,
        }
        push = (
            f"/settings/webhooks/{webhook_id}?{query}offset={offset}"
            if offset
            else f"/settings/webhooks/{webhook_id}{'?' + query.rstrip('&') if query else ''}"
        )
        return render(request, "settings/webhook.html", ctx, block="endpoint", push_url=push)

    @post("/{webhook_id:int}/test")
    async def test(self, request: Request[Any, Any, Any], tenant: TenantScope, webhook_id: WebhookId) -> Template:
        """Send a sample event to this endpoint now and show its answer."""
        values, _ = await _form(request)
        event_type = values.get("event_type", "")
        if event_type not in event_types():
            raise ValidationFailed("Choose an event type", details={"field": "event_type"})
        result = await delivery.send_test(tenant, event_type, None, sample(event_type), webhook_id=webhook_id)
        return await self._show(request, tenant, webhook_id, None, 0, test_result=result)

    @post("/{webhook_id:int}/rotate")
    async def rotate(self, request: Request[Any, Any, Any], tenant: TenantScope, webhook_id: WebhookId) -> Template:
        """A new secret, shown once; the old one keeps working for 24 hours."""
        hook = await service.rotate_secret(tenant, webhook_id)
        return await self._show(request, tenant, webhook_id, None, 0, revealed=hook.secret_key)

    @post("/{webhook_id:int}/active")
    async def set_active(self, request: Request[Any, Any, Any], tenant: TenantScope, webhook_id: WebhookId) -> Template:
        """Turn the endpoint on or off."""
        values, _ = await _form(request)
        on = values.get("active") == "1"
        await service.update(tenant, webhook_id, schemas.WebhookUpdate(active=on))
        return await self._show(request, tenant, webhook_id, None, 0, notice="Webhook turned on" if on else "Webhook turned off")

    @post("/{webhook_id:int}/redeliver")
    async def redeliver_failed(self, request: Request[Any, Any, Any], tenant: TenantScope, queue: Queue, webhook_id: WebhookId) -> Template:
        """Queue every failed delivery of the endpoint again."""
        ids = await delivery.redeliver(tenant, queue, None, webhook_id, 1000)
        notice = f"Queued {len(ids)} failed deliver{'y' if len(ids) == 1 else 'ies'} again" if ids else "No failed deliveries to send again"
        return await self._show(request, tenant, webhook_id, None, 0, notice=notice)

    @post("/{webhook_id:int}/deliveries/{delivery_id:int}/redeliver")
    async def redeliver_one(
        self, request: Request[Any, Any, Any], tenant: TenantScope, queue: Queue, webhook_id: WebhookId, delivery_id: DeliveryId
    ) -> Template:
        """Queue one delivery again."""
        await delivery.redeliver(tenant, queue, [delivery_id], webhook_id, 1)
        return await self._show(request, tenant, webhook_id, None, 0, notice=f"Delivery #{delivery_id} queued again")

    @get("/{webhook_id:int}/deliveries/{delivery_id:int}")
    async def delivery_detail(
        self, request: Request[Any, Any, Any], tenant: TenantScope, webhook_id: WebhookId, delivery_id: DeliveryId
    ) -> Template:
        """The body sent and every attempt's request and response."""
        detail = await service.delivery(tenant, delivery_id)
        if detail.webhook_id != webhook_id:
            raise ResourceNotFound("Delivery not found")
        return render(request, "settings/webhook_delivery.html", {"active": "settings", "tab": "webhooks", "d": detail}, block="delivery")

    @post("/{webhook_id:int}/delete")
    async def delete(self, request: Request[Any, Any, Any], tenant: TenantScope, webhook_id: WebhookId) -> Redirect:
        """Remove the endpoint and its log."""
        await service.delete(tenant, webhook_id)
        return Redirect("/settings/webhooks", status_code=303)
