"""The due-task notices: every few minutes, the owners of tasks coming due are told once (in the app, live)."""

from __future__ import annotations

from saq.types import Context

from app.activities.service import tell_due
from app.core.jobs import job
from app.db import fetch, system_transaction


@job(key="notify-due-tasks", timeout=120, retries=1)
async def notify_due_tasks(ctx: Context) -> int:
    """Across tenants: which have open tasks coming due not yet told; then each tenant tells its owners."""
    async with system_transaction():
        tenants = await fetch(
            """SELECT DISTINCT tenant_id FROM task WHERE NOT done AND due_notified_at IS NULL AND owner_id IS NOT NULL
                 AND due_at <= now() + interval '15 minutes' AND due_at > now() - interval '1 day'"""
        )
    return sum([await tell_due(row["tenant_id"]) for row in tenants])
