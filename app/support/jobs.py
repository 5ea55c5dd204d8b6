"""The SLA-breach cron: every minute, each tenant's clocks past due are flagged and published once."""

from __future__ import annotations

from saq.types import Context

from app.core.jobs import job
from app.db import TenantScope, fetch, system_transaction
from app.support.service import flag_breaches


@job(key="sla-breaches", timeout=300, retries=1)
async def find_sla_breaches(ctx: Context) -> int:
    """Find the tenants with an unmet clock past due and unflagged (atrium_system reads those columns), then flag and
    publish in each tenant's own transaction."""
    async with system_transaction():
        tenants = await fetch(
            """SELECT DISTINCT tenant_id FROM ticket
                WHERE (first_responded_at IS NULL AND first_response_due_at < now() AND first_response_breached_at IS NULL)
                   OR (resolved_at IS NULL AND resolution_due_at < now() AND resolution_breached_at IS NULL)"""
        )
    found = 0
    for row in tenants:
        found += await flag_breaches(TenantScope.system(row["tenant_id"], "system:sla"))
    return found
