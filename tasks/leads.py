"""Lead jobs."""

from __future__ import annotations

from saq.types import Context

from app.db import TenantScope
from app.leads.service import rescore_tenant


async def rescore_leads(ctx: Context, *, tenant_id: int) -> dict[str, int]:
    """Rescore every live lead of one tenant. Idempotent: a rerun changes only what the rules change."""
    return await rescore_tenant(TenantScope(tenant_id=tenant_id, actor="system:scoring"))


async def rescore_all_tenants(ctx: Context) -> int:
    """Nightly: queue a rescore of every tenant's leads, so time-based factors (last touch) stay true."""
    from app.db import fetch, system_transaction

    async with system_transaction():
        tenants = await fetch("SELECT id FROM tenant ORDER BY id")
    queue = ctx["worker"].queue
    for row in tenants:
        await queue.enqueue(
            "rescore_leads", key=f"rescore-leads:{row['id']}", tenant_id=row["id"], timeout=1800, retries=3, retry_delay=10.0
        )
    return len(tenants)
