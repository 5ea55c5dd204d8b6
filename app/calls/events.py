"""What calls publish (PRODUCT.md webhooks: `call.completed` as the NeuraCRM guide lists it)."""

from __future__ import annotations

EVENTS = {
    "call.created": "A call was logged, requested or reported by a PBX",
    "call.updated": "A call's status, outcome, notes or links changed (`changed_fields`)",
    "call.completed": "A call ended after being answered (its wait and talk seconds)",
    "call.transferred": "A live call was transferred (`transfer_type` blind, attended or conference; `extension`)",
}
