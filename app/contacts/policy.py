"""Who may do what with contacts and companies.

Everyone reads; admins, managers, agents, support and write integrations create and edit; admins,
managers and write integrations delete (a deleted company's contacts and leads stay, unlinked).
"""

from __future__ import annotations

from app.core.policy import EVERYONE, INTEGRATION, SYSTEM, permission

VIEW = permission("contacts.view", {*EVERYONE, SYSTEM}, "Your role cannot see contacts")
EDIT = permission(
    "contacts.edit", {"admin", "manager", "agent", "support", INTEGRATION, SYSTEM}, "Your role cannot create or edit contacts"
)
DELETE = permission("contacts.delete", {"admin", "manager", INTEGRATION}, "Only admins and managers can delete contacts and companies")
