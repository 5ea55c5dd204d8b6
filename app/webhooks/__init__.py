"""Outbound webhooks: endpoints per tenant, signed deliveries with retries, the delivery log."""
