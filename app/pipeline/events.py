"""What deals publish (PRODUCT.md webhooks; `deal.updated` carries old_stage/new_stage/changed_by as the guide's §8.1)."""

from __future__ import annotations

EVENTS = {
    "deal.created": "A deal was created (by hand, the API or a lead's conversion)",
    "deal.updated": "A deal changed: `changed_fields`, `old_stage`/`new_stage` when it moved, `changed_by` (a user id)",
    "deal.won": "A deal was won",
    "deal.lost": "A deal was lost (`lost_reason` says why)",
    "deal.watcher_added": "Someone started watching a deal",
    "deal.deleted": "A deal was deleted",
}
# A card moved within its column: only boards need to know.
LIVE_EVENTS = {"deal.reordered": "A deal moved within its stage (`position`)"}
