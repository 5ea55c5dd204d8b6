"""Lead jobs: rescoring (the background Excel export's job lives with the export, in export.py)."""

from __future__ import annotations

from saq import Queue
from saq.types import Context

from app.core.jobs import job
from app.db import TenantScope, fetch, system_transaction, tenant_ids, tenant_transaction
from app.events.service import emit
from app.leads import events as lead_events
from app.leads import policy
from app.leads.service import lead_subject, rescore_tenant

# A conversation is timed out after this long without an interaction (the guide's ghost protocol, §2.1).
INACTIVE = "24 hours"
TIMEOUT_BATCH = 1000


@job(key="rescore-leads:{tenant_id}", timeout=1800, retries=3, retry_delay=10.0)
async def rescore_leads(ctx: Context, *, tenant_id: int) -> dict[str, int]:
    """Rescore every live lead of one tenant. Idempotent: a rerun changes only what the rules change."""
    return await rescore_tenant(TenantScope.system(tenant_id, "system:scoring"))


@job(key="rescore-all-tenants", timeout=300, retries=3)
async def rescore_all_tenants(ctx: Context) -> int:
    """Nightly: queue a rescore of every tenant's leads, so time-based factors (last touch) stay true."""
    tenants = await tenant_ids()
    for tenant_id in tenants:
        await rescore_leads.enqueue(ctx["worker"].queue, tenant_id=tenant_id)
    return len(tenants)


async def request_rescore(scope: TenantScope, queue: Queue) -> tuple[str, str]:
    """Queue a rescore of the tenant's leads; asking again while one is queued or running joins it. (key, status)"""
    policy.SCORE_ALL.require(scope)
    queued = await rescore_leads.enqueue(queue, tenant_id=scope.tenant_id)
    key = rescore_leads.key_for(tenant_id=scope.tenant_id)
    existing = queued or await queue.job(key)
    return key, str(existing.status) if existing else "queued"


@job(key="conversation-timeouts", timeout=600, retries=1)
async def find_conversation_timeouts(ctx: Context) -> int:
    """Every 10 minutes: publish `conversation.timeout` once for each open lead inactive for 24 hours."""
    async with system_transaction():
        tenants = await fetch(
            f"""SELECT DISTINCT tenant_id FROM lead
                 WHERE NOT ghost_reminder_sent AND deleted_at IS NULL AND status NOT IN ('WON', 'LOST')
                   AND last_interaction < now() - interval '{INACTIVE}'"""
        )
    found = 0
    for row in tenants:
        found += await timeout_conversations(TenantScope.system(row["tenant_id"], "system:conversations"))
    return found


async def timeout_conversations(scope: TenantScope) -> int:
    """One tenant's timed-out conversations (a batch at a time); each lead is reported once until it is touched again."""
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            f"""UPDATE lead SET ghost_reminder_sent = true
                 WHERE id IN (SELECT id FROM lead WHERE tenant_id = $1 AND NOT ghost_reminder_sent AND deleted_at IS NULL
                                AND status NOT IN ('WON', 'LOST') AND last_interaction < now() - interval '{INACTIVE}'
                              ORDER BY last_interaction LIMIT {TIMEOUT_BATCH} FOR UPDATE SKIP LOCKED)
             RETURNING *""",
            scope.tenant_id,
        )
        for row in rows:
            data = {**lead_events.payload(row), "inactive_since": row["last_interaction"]}
            await emit(scope, lead_subject(row), "conversation_timeout", "No reply for 24 hours", events=[("conversation.timeout", data)])
    return len(rows)
