"""Lead jobs: rescoring (the background Excel export's job lives with the export, in export.py)."""

from __future__ import annotations

from saq import Queue
from saq.types import Context

from app.core.jobs import job
from app.db import TenantScope, fetch, system_transaction
from app.leads import policy
from app.leads.service import rescore_tenant


@job(key="rescore-leads:{tenant_id}", timeout=1800, retries=3, retry_delay=10.0)
async def rescore_leads(ctx: Context, *, tenant_id: int) -> dict[str, int]:
    """Rescore every live lead of one tenant. Idempotent: a rerun changes only what the rules change."""
    return await rescore_tenant(TenantScope.system(tenant_id, "system:scoring"))


@job(key="rescore-all-tenants", timeout=300, retries=3)
async def rescore_all_tenants(ctx: Context) -> int:
    """Nightly: queue a rescore of every tenant's leads, so time-based factors (last touch) stay true."""
    async with system_transaction():
        tenants = await fetch("SELECT id FROM tenant ORDER BY id")
    for row in tenants:
        await rescore_leads.enqueue(ctx["worker"].queue, tenant_id=row["id"])
    return len(tenants)


async def request_rescore(scope: TenantScope, queue: Queue) -> tuple[str, str]:
    """Queue a rescore of the tenant's leads; asking again while one is queued or running joins it. (key, status)"""
    policy.SCORE_ALL.require(scope)
    queued = await rescore_leads.enqueue(queue, tenant_id=scope.tenant_id)
    key = rescore_leads.key_for(tenant_id=scope.tenant_id)
    existing = queued or await queue.job(key)
    return key, str(existing.status) if existing else "queued"
