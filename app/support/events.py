"""What tickets publish (PRODUCT.md webhooks)."""

from __future__ import annotations

EVENTS = {
    "ticket.created": "A support ticket was opened",
    "ticket.updated": "A ticket changed: `changed_fields` (status, priority, assigned_to…), `changed_by` (a user id)",
    "ticket.comment_added": "A public reply, internal note (`is_internal`) or customer reply (`author_type: customer`) was added",
    "ticket.sla_breached": "A ticket's SLA clock ran past its target: `sla` is first_response or resolution, `due_at` when it was due",
}
