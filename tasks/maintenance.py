"""Housekeeping: run every installed domain's cleanup (expired sessions, tokens, files, …)."""

from __future__ import annotations

from saq.types import Context

from app.core.jobs import job
from app.db import fetch, system_transaction
from app.domains import domains


@job(key="purge-expired", timeout=120, retries=3)
async def purge_expired(ctx: Context) -> dict[str, int]:
    """Delete rows past their expiry across all tenants (a system job). Idempotent: rerunning deletes nothing new."""
    removed: dict[str, int] = {}
    async with system_transaction():
        for domain in domains():
            for name, sql in domain.cleanup.items():
                removed[name] = len(await fetch(sql + " RETURNING 1"))
    return removed
