"""Lead jobs."""

from __future__ import annotations

from saq.types import Context

from app.db import TenantScope
from app.leads.service import rescore_tenant


async def rescore_leads(ctx: Context, *, tenant_id: int) -> dict[str, int]:
    """Rescore every live lead of one tenant. Idempotent: a rerun changes only what the rules change."""
    return await rescore_tenant(TenantScope(tenant_id=tenant_id, actor="system:scoring"))
