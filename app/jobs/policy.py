"""Who may see and replay the tenant's failed background jobs."""

from __future__ import annotations

from app.core.policy import permission

MANAGE = permission("jobs.manage", {"admin"}, "Only an admin can see and replay failed jobs")
