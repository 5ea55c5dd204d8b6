"""Events: one step that records a change's timeline entry, audit entry and outbox event together.

Services call `app.events.service.emit(...)` inside their tenant transaction; the outbox rows it
writes are what webhooks (app.outbound) and live updates (app.events.stream) deliver.
"""
