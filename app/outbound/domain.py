"""Webhooks: endpoints, deliveries and their log; the delivery job; the settings screen."""

from __future__ import annotations

from app.domains import Domain, FailedWork
from app.outbound.api import WebhookController
from app.outbound.delivery import deliver_webhook, failed_by_queue, replay_failed
from app.outbound.views import WebhookPagesController

DOMAIN = Domain(
    name="webhooks",
    controllers=[WebhookController, WebhookPagesController],
    jobs=[deliver_webhook],
    failed_work=[FailedWork(stats=failed_by_queue, replay=replay_failed)],
    # Delivered deliveries (and their attempts) are kept 30 days; failed ones until redelivered or deleted.
    cleanup={"webhook_deliveries": "DELETE FROM webhook_delivery WHERE status = 'delivered' AND delivered_at < now() - interval '30 days'"},
)
