"""Who may manage the tenant's webhooks: admins and write-enabled integration keys (read-only keys are refused by the guard)."""

from __future__ import annotations

from app.core.policy import INTEGRATION, permission

MANAGE = permission("webhooks.manage", {"admin", INTEGRATION}, "Only an admin can manage webhooks")
