"""What properties publish. `property_updated` is the Real Estate OS guide's live event (stage or assignment changed,
with `property_id`, `team_id`, `current_stage`, `updated_by`); the dotted ones follow the rest of Atrium's catalogue."""

from __future__ import annotations

EVENTS = {
    "property.created": "A property was added",
    "property.updated": "A property changed (`changed_fields`)",
    "property.deleted": "A property was deleted",
    "property_updated": "A property's stage or assignment changed (`property_id`, `team_id`, `current_stage`, `updated_by`)",
    "buyer.matched": "Properties were matched to a buyer (`lead_id` when the buyer is a lead, `total_matches`, the top ids)",
    "seller.analyzed": "A seller analysis (comparables and a price recommendation) was made",
    "portfolio.reconciled": "A portfolio was reconciled (`validation_status`, `discrepancy_percentage`)",
}
