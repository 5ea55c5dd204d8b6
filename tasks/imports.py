"""Import jobs."""

from __future__ import annotations

from saq.types import Context

from app.imports.service import run


async def run_import(ctx: Context, *, tenant_id: int, import_id: int) -> dict[str, int]:
    """Import a confirmed CSV; resumable and idempotent (each row is imported at most once)."""
    return await run(tenant_id, import_id)
