"""Who may do what with campaigns: the people who work leads read them and their numbers; admins and managers (and
write integrations) create them."""

from __future__ import annotations

from app.core.policy import INTEGRATION, SYSTEM, permission

VIEW = permission("campaigns.view", {"admin", "manager", "agent", "finance", INTEGRATION, SYSTEM}, "Your role cannot see campaigns")
CREATE = permission("campaigns.create", {"admin", "manager", INTEGRATION}, "Only admins and managers create campaigns")
