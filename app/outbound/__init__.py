"""Outbound webhooks (the `webhooks` domain): endpoints per tenant, signed deliveries with retries, the delivery log.

The package is not called `webhooks` so that nothing mistakes `app.webhooks` for the HTTP layer `app.web`."""
