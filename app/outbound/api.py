"""JSON API: webhook endpoints (§2.2), their delivery log, redelivery and test events (§9.2)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter
from msgspec import UNSET
from saq import Queue

from app.core.errors import ValidationFailed
from app.core.pagination import ListQuery, Page
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.events.catalog import event_types
from app.events.schemas import EventType
from app.outbound import delivery, policy, schemas, service
from app.outbound.samples import sample
from app.web.auth import guard
from app.web.json import ApiResponse

# No upper bound: an id beyond any record's is not found (404), as app.web.errors answers for every path id.
WebhookId = Annotated[int, Parameter(description="Webhook id", ge=1)]
DeliveryStatus = Literal["pending", "sending", "delivered", "failed"]  # service.STATUSES
DeliveryId = Annotated[int, Parameter(description="Delivery id", ge=1)]


class WebhookController(Controller):
    """The tenant's webhook endpoints (admins and write-enabled API keys)."""

    path = "/v2/webhooks"
    opt = resource_opt("webhooks")  # its scopes: webhooks:read, webhooks:write
    tags = ["Webhooks"]
    guards = [guard(policy.MANAGE, write=True)]  # read-only keys are refused, reads included

    @get("/events", operation_id="listWebhookEventTypes", summary="Event types that can be subscribed to")
    async def event_types(self) -> list[EventType]:
        """Every event type Atrium publishes; subscribe with their names or `*`."""
        return [EventType(name=name, description=text) for name, text in event_types().items()]

    @post("/", operation_id="createWebhook", summary="Register a webhook", status_code=201)
    async def create(self, tenant: TenantScope, data: schemas.WebhookCreate) -> ApiResponse[schemas.Webhook]:
        """`secret_key` is generated (`whsec_…`) when left out and shown in full only in this answer."""
        created = await service.create(tenant, data)
        return ApiResponse(created, status_code=201, headers={"Location": f"/v2/webhooks/{created.id}"})

    @get("/", operation_id="listWebhooks", summary="List webhooks")
    async def list_webhooks(self, tenant: TenantScope, list_query: ListQuery) -> Page[schemas.Webhook]:
        """Secrets are masked."""
        return await service.list_webhooks(tenant, list_query)

    @get("/{webhook_id:int}", operation_id="getWebhook", summary="Get a webhook")
    async def get_webhook(self, tenant: TenantScope, webhook_id: WebhookId) -> schemas.Webhook:
        """404 for other tenants' ids."""
        return await service.get(tenant, webhook_id)

    @patch("/{webhook_id:int}", operation_id="updateWebhook", summary="Change a webhook")
    async def update(self, tenant: TenantScope, webhook_id: WebhookId, data: schemas.WebhookUpdate) -> schemas.Webhook:
        """`active: true` turns a disabled endpoint back on."""
        return await service.update(tenant, webhook_id, data)

    @delete("/{webhook_id:int}", operation_id="deleteWebhook", summary="Delete a webhook")
    async def delete_webhook(self, tenant: TenantScope, webhook_id: WebhookId) -> None:
        """Its delivery log goes with it."""
        await service.delete(tenant, webhook_id)

    @post("/{webhook_id:int}/rotate-secret", operation_id="rotateWebhookSecret", summary="Rotate a webhook's secret", status_code=200)
    async def rotate(self, tenant: TenantScope, webhook_id: WebhookId) -> schemas.Webhook:
        """The new secret is shown once; the old one keeps signing (beside the new) for 24 hours."""
        return await service.rotate_secret(tenant, webhook_id)

    @get("/{webhook_id:int}/deliveries", operation_id="listWebhookDeliveries", summary="A webhook's delivery log")
    async def deliveries(
        self,
        tenant: TenantScope,
        list_query: ListQuery,
        webhook_id: WebhookId,
        status: Annotated[DeliveryStatus | None, Parameter(description="pending, sending, delivered or failed")] = None,
    ) -> Page[schemas.Delivery]:
        """Newest first."""
        return await service.deliveries(tenant, webhook_id, list_query, status)

    @get("/deliveries/{delivery_id:int}", operation_id="getWebhookDelivery", summary="A delivery with its attempts")
    async def get_delivery(self, tenant: TenantScope, delivery_id: DeliveryId) -> schemas.DeliveryDetail:
        """The exact body sent and every attempt (request headers without signatures, response cut at 2 KB)."""
        return await service.delivery(tenant, delivery_id)

    @post("/deliveries/{delivery_id:int}/redeliver", operation_id="redeliverWebhook", summary="Send a delivery again", status_code=202)
    async def redeliver_one(self, tenant: TenantScope, queue: Queue, delivery_id: DeliveryId) -> schemas.Redelivered:
        """A failed or delivered delivery, with the same delivery id and a fresh set of retries."""
        ids = await delivery.redeliver(tenant, queue, [delivery_id], None, 1)
        return schemas.Redelivered(redelivered=len(ids), delivery_ids=ids)

    @post("/{webhook_id:int}/redeliver", operation_id="redeliverWebhooks", summary="Send failed deliveries again", status_code=202)
    async def redeliver_many(
        self, tenant: TenantScope, queue: Queue, webhook_id: WebhookId, data: schemas.BulkRedeliver
    ) -> schemas.Redelivered:
        """The given `delivery_ids`, or the endpoint's failed deliveries (oldest first, at most `max_deliveries`)."""
        ids_wanted = data.delivery_ids if data.delivery_ids is not UNSET else None
        ids = await delivery.redeliver(tenant, queue, ids_wanted, webhook_id, data.max_deliveries)
        return schemas.Redelivered(redelivered=len(ids), delivery_ids=ids)

    @post("/test", operation_id="testWebhook", summary="Send a test event", status_code=200)
    async def test(self, tenant: TenantScope, data: schemas.TestEvent) -> schemas.TestResult:
        """Sends a sample `event_type` now to the endpoints taking it, or to `webhook_url` (a registered endpoint,
        or any URL: then signed with a one-off `secret_key` returned here)."""
        if data.event_type not in event_types():
            raise ValidationFailed(
                f"Invalid event_type: {data.event_type}",
                details={"field": "event_type", "provided": data.event_type, "expected": "an event type from GET /v2/webhooks/events"},
            )
        url = data.webhook_url if data.webhook_url is not UNSET else None
        return await delivery.send_test(tenant, data.event_type, url, sample(data.event_type))
