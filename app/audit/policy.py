"""Who may read the audit log."""

from __future__ import annotations

from app.core.policy import permission

VIEW = permission("audit.view", {"admin"}, "Only an admin can read the audit log")
