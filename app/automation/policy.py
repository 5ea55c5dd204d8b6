"""Who may do what with automation rules: admins and managers read them and their run log; admins (and write
integrations) make and change them."""

from __future__ import annotations

from app.core.policy import INTEGRATION, SYSTEM, permission

VIEW = permission("workflows.view", {"admin", "manager", INTEGRATION, SYSTEM}, "Only admins and managers see automation rules")
MANAGE = permission("workflows.manage", {"admin", INTEGRATION}, "Only admins make and change automation rules")
