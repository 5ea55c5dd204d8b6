"""The call center's background work: asking a provider that dials to place a call or transfer one.

One job per call (`call-dial:{call_id}`) and per transfer (`call-transfer:{call_id}:{event_id}`): asking twice while
one is queued or running starts nothing more, and a call the provider already accepted (it has its id) is never
dialled again. A provider that is down or unreachable is tried again by SAQ; its refusal (a 4xx) or the last
attempt's failure is recorded on the call (`provider_status: failed`, `provider_error`) and the call fails.
"""

from __future__ import annotations

from typing import Any

from saq.types import Context

from app.calls import service, telephony
from app.core.jobs import job
from app.db import TenantScope, fetch, tenant_transaction


class ProviderUnavailable(RuntimeError):
    """The provider could not be reached or failed on its side: the job is tried again."""


def _last_attempt(ctx: Context) -> bool:
    found: Any = ctx.get("job") if isinstance(ctx, dict) else None
    return found is None or not found.retryable


@job(key="call-dial:{call_id}", timeout=60, retries=3, retry_delay=10)
async def dial_call(ctx: Context, *, tenant_id: int, call_id: int) -> str:
    """Ask the call's provider to place it: `accepted <its id>`, `failed: why`, or why nothing was asked."""
    scope = TenantScope.system(tenant_id, "system:telephony")
    async with tenant_transaction(tenant_id):
        rows = await fetch(
            "SELECT provider_id, provider_status, external_id, to_number, from_number FROM call WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            call_id,
        )
        call = rows[0] if rows else None
        account = await service.provider_account(scope, call["provider_id"]) if call and call["provider_id"] else None
    if call is None:
        return "gone"
    if call["external_id"] is not None or call["provider_status"] != "queued":
        return "already handed over"  # a retried or duplicated job never dials twice
    adapter = telephony.adapter_for(account) if account else None
    if adapter is None:
        result = telephony.ProviderResult(ok=False, error="The provider was removed or no longer dials")
        await service.record_dial(scope, call_id, result, final=True)
        return f"failed: {result.error}"
    result = await adapter.originate(call_id, call["to_number"], call["from_number"])
    final = result.ok or not result.retryable or _last_attempt(ctx)
    await service.record_dial(scope, call_id, result, final=final)
    if not final:
        raise ProviderUnavailable(result.error or "the provider did not answer")
    return f"accepted {result.external_id}" if result.ok else f"failed: {result.error}"


@job(key="call-transfer:{call_id}:{event_id}", timeout=60, retries=3, retry_delay=5)
async def transfer_on_provider(ctx: Context, *, tenant_id: int, call_id: int, event_id: int) -> str:
    """Ask the call's provider to move it to the transfer's extension; the answer goes on the transfer's event."""
    scope = TenantScope.system(tenant_id, "system:telephony")
    async with tenant_transaction(tenant_id):
        rows = await fetch(
            """SELECT c.provider_id, c.external_id, e.extension, e.transfer_type, e.data->>'provider_status' AS status
                 FROM call_event e JOIN call c ON c.id = e.call_id AND c.tenant_id = e.tenant_id
                WHERE e.tenant_id = $1 AND e.id = $2 AND e.call_id = $3""",
            tenant_id,
            event_id,
            call_id,
        )
        row = rows[0] if rows else None
        account = await service.provider_account(scope, row["provider_id"]) if row and row["provider_id"] else None
    if row is None:
        return "gone"
    if row["status"] != "queued":
        return "already handed over"
    adapter = telephony.adapter_for(account) if account else None
    if adapter is None or row["external_id"] is None:
        result = telephony.ProviderResult(ok=False, error="The provider was removed or no longer dials")
        await service.record_transfer(scope, event_id, result, final=True)
        return f"failed: {result.error}"
    result = await adapter.transfer(row["external_id"], row["extension"], row["transfer_type"])
    final = result.ok or not result.retryable or _last_attempt(ctx)
    await service.record_transfer(scope, event_id, result, final=final)
    if not final:
        raise ProviderUnavailable(result.error or "the provider did not answer")
    return "accepted" if result.ok else f"failed: {result.error}"
