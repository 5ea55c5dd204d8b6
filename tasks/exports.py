"""Export jobs."""

from __future__ import annotations

from saq.types import Context

from app.leads.export import run_export_job


async def run_export(ctx: Context, *, tenant_id: int, export_id: int) -> int:
    """Build a large Excel export in the background; a retry rebuilds it from scratch."""
    return await run_export_job(tenant_id, export_id)
