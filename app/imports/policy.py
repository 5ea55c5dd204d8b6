"""Who may import files."""

from __future__ import annotations

from app.core.policy import permission

RUN = permission("imports.run", {"admin", "manager"}, "Only admins and managers can import")
