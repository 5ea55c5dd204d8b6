"""What messages publish: the Real Estate OS guide's live events (`memo_generated`, `reply_received`) and the
delivery updates of a communication."""

from __future__ import annotations

EVENTS = {
    "memo_generated": "A memo was generated and sent (`communication_id`, `property_id`, `lead_id`, `team_id`, `status`)",
    "reply_received": "A recipient replied (`communication_id`, `property_id`, `lead_id`, `reply_text`)",
    "communication.status_changed": "A provider reported a communication's delivery (`communication_id`, `status`, `event`)",
}
