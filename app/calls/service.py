"""Calls, transfers, telephony providers and the provider-neutral call-event webhook. Every function takes the
caller's `TenantScope` (the webhook finds its tenant from the provider's id, then works in that tenant).

No telephony service is called here: an outbound call request and a transfer are recorded, then handed by a job
(app.calls.jobs) to the active provider's adapter when its type has one (app.calls.telephony: Twilio-style REST);
other providers only record them, and a PBX reports what happened through the call-event webhook.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets as random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from asyncpg.exceptions import UniqueViolationError
from msgspec import UNSET
from saq import Queue

from app.calls import policy, schemas, telephony
from app.calls.secrets import decrypt, encrypt
from app.calls.tables import Call, CallEvent, TelephonyProvider
from app.core.errors import AuthenticationError, Conflict, ResourceNotFound, ValidationFailed, unknown_reference
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.db import TenantScope, bounded_total, fetch, fetch_as, system_transaction, tenant_transaction
from app.events.service import Subject, emit
from app.outbound.ssrf import Target, UnsafeTarget, resolve_checked
from app.settings import base_url, current

SORTS = {"started_at": "c.started_at", "created_at": "c.created_at"}
_SELECT = """SELECT c.id, c.direction, c.status, c.from_number, c.to_number, c.agent_id, u.full_name, c.queue, c.started_at,
       c.answered_at, c.ended_at, floor(extract(epoch FROM c.answered_at - c.started_at))::int,
       floor(extract(epoch FROM c.ended_at - c.answered_at))::int, c.disposition, c.notes, c.transcript, c.lead_id,
       c.contact_id, c.ticket_id, c.campaign_id, c.provider_id, c.external_id, c.created_at, c.updated_at, c.provider_status,
       c.provider_error
  FROM call c LEFT JOIN app_user u ON u.id = c.agent_id"""
TEST_TIMEOUT = 3.0


@dataclass(frozen=True, slots=True)
class CallFilters:
    """Filters of `GET /v2/calls` (§5.2) and of the call log."""

    status: str | None = None
    direction: str | None = None
    agent_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    lead_id: int | None = None
    contact_id: int | None = None
    ticket_id: int | None = None


def _where(scope: TenantScope, filters: CallFilters) -> tuple[str, list[Any]]:
    clauses, args = ["c.tenant_id = $1"], [scope.tenant_id]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if not policy.sees_every_call(scope):
        add("c.agent_id = ?", scope.user_id or 0)
    for name in ("status", "direction", "agent_id", "lead_id", "contact_id", "ticket_id"):
        value = getattr(filters, name)
        if value is not None:
            add(f"c.{name} = ?", value)
    if filters.start is not None:
        add("c.started_at >= ?", filters.start)
    if filters.end is not None:
        add("c.started_at < ?", filters.end)
    return " AND ".join(clauses), args


async def list_calls(scope: TenantScope, filters: CallFilters, query: ListQuery) -> Page[schemas.Call]:
    """The call log, latest first; agents see their own calls."""
    policy.VIEW.require(scope)
    order = sort_order(query.sort, SORTS, "-started_at")
    where, args = _where(scope, filters)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch_as(
            schemas.Call, f"{_SELECT} WHERE {where} ORDER BY {order.sql(tiebreak='c.id')} LIMIT {query.limit} OFFSET {query.offset}", *args
        )
        total, estimate = await bounded_total("call c", where, args, query.offset, query.limit, len(rows))
    return page_of(schemas.Call, rows, query, total, estimate=estimate)


def _not_found(call_id: int) -> ResourceNotFound:
    return ResourceNotFound("Call not found", details={"call_id": call_id})


async def _read(scope: TenantScope, call_id: int) -> schemas.Call:
    if not 0 < call_id <= schemas.BIGINT_MAX:
        raise _not_found(call_id)
    rows = await fetch_as(schemas.Call, f"{_SELECT} WHERE c.tenant_id = $1 AND c.id = $2", scope.tenant_id, call_id)
    if not rows or not policy.VIEW.allows(scope, rows[0]):
        raise _not_found(call_id)
    return rows[0]


async def _detail(scope: TenantScope, call_id: int) -> schemas.CallDetail:
    call = await _read(scope, call_id)
    events = await fetch_as(
        schemas.CallEvent,
        "SELECT id, kind, transfer_type, extension, created_by, created_at, data->>'provider_status', data->>'provider_error' "
        "FROM call_event "
        "WHERE tenant_id = $1 AND call_id = $2 ORDER BY created_at, id LIMIT 200",
        scope.tenant_id,
        call_id,
    )
    return schemas.CallDetail(**msgspec.structs.asdict(call), events=events)


async def get_call(scope: TenantScope, call_id: int) -> schemas.CallDetail:
    """One call with its events (404 for other tenants' ids and, for agents, colleagues' calls)."""
    policy.VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _detail(scope, call_id)


def payload(call: schemas.Call) -> dict[str, Any]:
    """The `data` of call events: the call as the API shows it (`call_id` first, without its events)."""
    data = msgspec.to_builtins(call)
    data.pop("events", None)
    return {"call_id": call.id, **{k: v for k, v in data.items() if k != "id"}}


def _subject(call: schemas.Call) -> Subject:
    return Subject("call", call.id, contact_id=call.contact_id)


async def _check_links(scope: TenantScope, values: dict[str, Any]) -> None:
    """The lead, contact, ticket and agent named belong to the tenant (the agent takes calls; agents name themselves)."""
    for name, table in (("lead_id", "lead"), ("contact_id", "contact"), ("ticket_id", "ticket")):
        value = values.get(name)
        if value is not None and (
            value > schemas.BIGINT_MAX or not await fetch(f"SELECT 1 FROM {table} WHERE id = $1 AND tenant_id = $2", value, scope.tenant_id)
        ):
            raise unknown_reference(name, value, table)
    agent = values.get("agent_id")
    if agent is not None:
        policy.LOG.require(scope, {"agent_id": agent})
        rows = (
            await fetch("SELECT role FROM app_user WHERE id = $1 AND tenant_id = $2 AND is_active", agent, scope.tenant_id)
            if agent <= schemas.BIGINT_MAX
            else []
        )
        if not rows or not policy.can_take_calls(rows[0]["role"]):
            raise unknown_reference("agent_id", agent, "agent")


def _check_times(started: datetime, answered: datetime | None, ended: datetime | None) -> None:
    if answered is not None and answered < started:
        raise ValidationFailed(
            "Invalid answered_at: before started_at",
            details={"field": "answered_at", "provided": answered.isoformat(), "expected": "at or after started_at", "reason": "range"},
            human="A call is answered after it starts",
        )
    if ended is not None and ended < (answered or started):
        raise ValidationFailed(
            "Invalid ended_at: before the call started or was answered",
            details={"field": "ended_at", "provided": ended.isoformat(), "expected": "at or after answered_at", "reason": "range"},
            human="A call ends after it is answered",
        )


def _status_times(status: str, values: dict[str, Any], now: datetime) -> None:
    """Times a status implies when none were given: answered → answered now; completed → ended now (answered at its
    start if never said otherwise); failed and abandoned → ended now, never answered."""
    if status in ("answered", "completed") and values.get("answered_at") is None:
        values["answered_at"] = now if status == "answered" else values.get("started_at", now)
    if status in ("completed", "failed", "abandoned") and values.get("ended_at") is None:
        values["ended_at"] = max(now, values.get("answered_at") or values.get("started_at") or now)
    if status in ("failed", "abandoned"):
        values["answered_at"] = None


async def _active_provider(scope: TenantScope) -> dict[str, Any] | None:
    """The tenant's active provider (the first added) that calls are handed to, if any."""
    rows = await fetch(
        "SELECT id, provider_type FROM telephony_provider WHERE tenant_id = $1 AND is_active ORDER BY id LIMIT 1", scope.tenant_id
    )
    return rows[0] if rows else None


def _dials(provider_type: str | None) -> bool:
    return provider_type is not None and provider_type in telephony.ADAPTERS


async def create_call(scope: TenantScope, data: schemas.CallCreate, queue: Queue | None = None) -> schemas.CallDetail:
    """Log a call that happened (with a `status`), or request an outbound call (without: it rings and is handed to the
    active provider; a provider with an adapter is asked to dial by a job, `provider_status` queued). Publishes
    `call.created`, and `call.completed` for a completed one."""
    agent = data.agent_id if data.agent_id is not None else policy.default_agent(scope)
    policy.LOG.require(scope, {"agent_id": agent})
    meta = data.metadata or schemas.CallMetadata()
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "agent_id": agent,
        "lead_id": meta.lead_id,
        "contact_id": meta.contact_id,
        "ticket_id": meta.ticket_id,
        "started_at": (data.started_at or now).astimezone(UTC),
        "answered_at": data.answered_at.astimezone(UTC) if data.answered_at else None,
        "ended_at": data.ended_at.astimezone(UTC) if data.ended_at else None,
    }
    status = data.status or "ringing"
    _status_times(status, values, now)
    _check_times(values["started_at"], values["answered_at"], values["ended_at"])
    async with tenant_transaction(scope.tenant_id):
        await _check_links(scope, values)
        if values["contact_id"] is None and values["lead_id"] is not None:
            lead = await fetch("SELECT contact_id FROM lead WHERE id = $1", values["lead_id"])
            values["contact_id"] = lead[0]["contact_id"] if lead else None
        rows = await Call.insert(
            Call(
                tenant_id=scope.tenant_id,
                direction=data.direction,
                status=status,
                from_number=(data.from_number or "").strip(),
                to_number=data.to_number.strip(),
                queue=data.queue.strip(),
                disposition=data.disposition.strip(),
                notes=data.notes,
                transcript=data.transcript,
                campaign_id=meta.campaign_id,
                created_by=scope.user_id,
                created_at=now,
                updated_at=now,
                **values,
            )
        ).returning(Call.id)
        call_id = rows[0]["id"]
        dial = False
        if data.status is None:  # a request to dial: the active provider's adapter gets it, through a job
            provider = await _active_provider(scope)
            dial = provider is not None and _dials(provider["provider_type"])
            await fetch(
                "UPDATE call SET provider_id = $2, provider_status = $3 WHERE id = $1",
                call_id,
                provider["id"] if provider else None,
                "queued" if dial else None,
            )
            await _event(scope, call_id, "originate_requested", provider_id=provider["id"] if provider else None)
        call = await _detail(scope, call_id)
        events = [("call.created", payload(call))] + ([("call.completed", payload(call))] if status == "completed" else [])
        summary = f"{call.direction.title()} call {call.status} ({call.from_number or '?'} → {call.to_number})"
        await emit(scope, _subject(call), "call_logged", summary, events=events)
    if dial and queue is not None:
        from app.calls.jobs import dial_call  # imported here: the job's module uses this one

        await dial_call.enqueue(queue, tenant_id=scope.tenant_id, call_id=call.id)
    return call


async def _event(scope: TenantScope, call_id: int, kind: str, **fields: Any) -> None:
    await CallEvent.insert(CallEvent(tenant_id=scope.tenant_id, call_id=call_id, kind=kind, created_by=scope.user_id, **fields))


async def _locked(scope: TenantScope, call_id: int) -> dict[str, Any]:
    if not 0 < call_id <= schemas.BIGINT_MAX:
        raise _not_found(call_id)
    rows = await fetch("SELECT * FROM call WHERE id = $1 AND tenant_id = $2 FOR UPDATE", call_id, scope.tenant_id)
    if not rows or not policy.VIEW.allows(scope, rows[0]):
        raise _not_found(call_id)
    return rows[0]


async def _apply(scope: TenantScope, before: dict[str, Any], values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Write a change (a status's implied times included), publish `call.updated` and, when it completed,
    `call.completed`; the columns that changed."""
    if "status" in values and values["status"] != before["status"]:
        merged = {**before, **values}
        _status_times(values["status"], merged, now)
        values = {**values, **{k: merged[k] for k in ("answered_at", "ended_at")}}
    _check_times(before["started_at"], values.get("answered_at", before["answered_at"]), values.get("ended_at", before["ended_at"]))
    changed = {k: v for k, v in values.items() if before.get(k) != v}
    if not changed:
        return {}
    await Call.update({**changed, "updated_at": now}).where(Call.id == before["id"])  # type: ignore[arg-type,dict-item]
    call = await _read(scope, before["id"])
    events: list[tuple[str, dict[str, Any]]] = [("call.updated", {**payload(call), "changed_fields": sorted(changed)})]
    if changed.get("status") == "completed":
        events.append(("call.completed", payload(call)))
    summary = f"Call {call.status}" if "status" in changed else "Call changed: " + ", ".join(sorted(changed))
    await emit(scope, _subject(call), "call_updated", summary, {k: (before.get(k), v) for k, v in changed.items()}, events=events)
    return changed


async def update_call(scope: TenantScope, call_id: int, data: schemas.CallUpdate) -> schemas.CallDetail:
    """Record the outcome (status, disposition, notes, transcript, times) or the links of a call."""
    policy.LOG.require(scope)
    values = {name: value for name in data.__struct_fields__ if (value := getattr(data, name)) is not UNSET}
    for name in ("answered_at", "ended_at"):
        if values.get(name) is not None:
            values[name] = values[name].astimezone(UTC)
    async with tenant_transaction(scope.tenant_id):
        before = await _locked(scope, call_id)
        policy.LOG.require(scope, before)
        await _check_links(scope, values)
        await _apply(scope, before, values, datetime.now(UTC))
        return await _detail(scope, call_id)


async def transfer_call(scope: TenantScope, call_id: int, data: schemas.Transfer, queue: Queue | None = None) -> schemas.CallDetail:
    """Transfer a live call to an extension (§5.2): recorded as an event on the call and, for a call placed through
    a provider that dials, handed to it by a job (the event's `provider_status`); 409 for a call that is over.
    Publishes `call.transferred`."""
    policy.LOG.require(scope)
    async with tenant_transaction(scope.tenant_id):
        before = await _locked(scope, call_id)
        policy.LOG.require(scope, before)
        if before["status"] not in schemas.LIVE_STATUSES:
            raise Conflict(
                f"The call is {before['status']}: only a ringing or answered call can be transferred",
                details={"call_id": call_id, "status": before["status"]},
            )
        provider = (
            await fetch(
                "SELECT provider_type FROM telephony_provider WHERE id = $1 AND tenant_id = $2", before["provider_id"], scope.tenant_id
            )
            if before["provider_id"] is not None
            else []
        )
        handed = bool(provider) and _dials(provider[0]["provider_type"]) and before["external_id"] is not None
        event = await CallEvent.insert(
            CallEvent(
                tenant_id=scope.tenant_id,
                call_id=call_id,
                kind="transfer",
                transfer_type=data.transfer_type,
                extension=data.extension,
                provider_id=before["provider_id"] if handed else None,
                data=json.dumps({"provider_status": "queued"} if handed else {}),
                created_by=scope.user_id,
            )
        ).returning(CallEvent.id)
        call = await _detail(scope, call_id)
        data_out = {**payload(call), "extension": data.extension, "transfer_type": data.transfer_type}
        summary = f"Call transferred ({data.transfer_type}) to {data.extension}"
        await emit(scope, _subject(call), "call_transferred", summary, events=[("call.transferred", data_out)])
    if handed and queue is not None:
        from app.calls.jobs import transfer_on_provider  # imported here: the job's module uses this one

        await transfer_on_provider.enqueue(queue, tenant_id=scope.tenant_id, call_id=call_id, event_id=event[0]["id"])
    return call


# What a provider that dials did with a request (the jobs in app.calls.jobs call these).
async def provider_account(scope: TenantScope, provider_id: int) -> telephony.ProviderAccount | None:
    """A stored provider as its adapter needs it (the password decrypted), or None when it is gone."""
    rows = await fetch(
        "SELECT id, provider_type, api_url, username, password_encrypted, context FROM telephony_provider WHERE tenant_id = $1 AND id = $2",
        scope.tenant_id,
        provider_id,
    )
    if not rows:
        return None
    row = rows[0]
    return telephony.ProviderAccount(
        id=row["id"],
        provider_type=row["provider_type"],
        api_url=row["api_url"],
        username=row["username"],
        password=decrypt(row["password_encrypted"]),
        context=row["context"],
    )


async def record_dial(scope: TenantScope, call_id: int, result: telephony.ProviderResult, *, final: bool) -> None:
    """Write what the provider answered to a dial: accepted (its id of the call), failed for good (the call failed
    too), or a failure that will be tried again (the error shown, still queued). Publishes `call.updated`."""
    async with tenant_transaction(scope.tenant_id):
        before = await _locked(scope, call_id)
        if result.ok:
            values: dict[str, Any] = {"provider_status": "accepted", "provider_error": None, "external_id": result.external_id}
        elif final:
            values = {"provider_status": "failed", "provider_error": result.error}
            if before["status"] in schemas.LIVE_STATUSES:
                values["status"] = "failed"
        else:
            values = {"provider_error": f"{result.error} (trying again)"}
        await _apply(scope, before, values, datetime.now(UTC))


async def record_transfer(scope: TenantScope, event_id: int, result: telephony.ProviderResult, *, final: bool) -> None:
    """Write what the provider answered to a transfer on its event (`provider_status`, `provider_error`)."""
    status = "accepted" if result.ok else "failed" if final else "queued"
    error = None if result.ok else result.error if final else f"{result.error} (trying again)"
    async with tenant_transaction(scope.tenant_id):
        await fetch(
            "UPDATE call_event SET data = data || $3::jsonb WHERE tenant_id = $1 AND id = $2",
            scope.tenant_id,
            event_id,
            json.dumps({"provider_status": status, "provider_error": error}),
        )


# Telephony providers.
def webhook_url(provider_id: int) -> str:
    """Where a PBX posts its call events."""
    return f"{base_url()}/v2/telephony/providers/{provider_id}/events"


_PROVIDER = """SELECT id, name, provider_type, host, port, username, context, api_url, password_encrypted <> '', is_active,
       $2::text || '/v2/telephony/providers/' || id || '/events', last_tested_at, last_test_ok, created_at, updated_at
  FROM telephony_provider"""


async def list_providers(scope: TenantScope) -> list[schemas.Provider]:
    """The tenant's providers (never their secrets)."""
    policy.PROVIDERS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await fetch_as(schemas.Provider, f"{_PROVIDER} WHERE tenant_id = $1 ORDER BY id LIMIT 100", scope.tenant_id, base_url())


async def _provider(scope: TenantScope, provider_id: int) -> schemas.Provider:
    if not 0 < provider_id <= schemas.BIGINT_MAX:
        raise ResourceNotFound("Provider not found", details={"provider_id": provider_id})
    rows = await fetch_as(schemas.Provider, f"{_PROVIDER} WHERE tenant_id = $1 AND id = $3", scope.tenant_id, base_url(), provider_id)
    if not rows:
        raise ResourceNotFound("Provider not found", details={"provider_id": provider_id})
    return rows[0]


async def get_provider(scope: TenantScope, provider_id: int) -> schemas.Provider:
    """One provider (never its secrets)."""
    policy.PROVIDERS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _provider(scope, provider_id)


def _secrets_audit(data: msgspec.Struct) -> dict[str, Any]:
    return {k: v for k, v in msgspec.to_builtins(data).items() if k != "password"}


async def create_provider(scope: TenantScope, data: schemas.ProviderCreate) -> schemas.ProviderCreated:
    """Add a PBX: its password is encrypted at rest; a webhook secret is made and shown once. Audited."""
    policy.PROVIDERS.require(scope)
    secret = "whsec_" + random.token_urlsafe(24)
    async with tenant_transaction(scope.tenant_id):
        rows = await TelephonyProvider.insert(
            TelephonyProvider(
                tenant_id=scope.tenant_id,
                name=data.name.strip(),
                provider_type=data.provider_type,
                host=data.host.strip().lower(),
                port=data.port,
                username=data.username,
                password_encrypted=encrypt(data.password),
                context=data.context,
                api_url=data.api_url,
                webhook_secret_encrypted=encrypt(secret),
                is_active=data.is_active,
            )
        ).returning(TelephonyProvider.id)
        provider = await _provider(scope, rows[0]["id"])
        await emit(scope, Subject("telephony_provider", provider.id), "telephony.provider_created", audit=_secrets_audit(data))
    return schemas.ProviderCreated(**msgspec.structs.asdict(provider), webhook_secret=secret)


async def update_provider(scope: TenantScope, provider_id: int, data: schemas.ProviderUpdate) -> schemas.Provider:
    """Change a provider; a new password replaces the old (encrypted). Audited."""
    policy.PROVIDERS.require(scope)
    values = {name: value for name in data.__struct_fields__ if (value := getattr(data, name)) is not UNSET}
    if "password" in values:
        values["password_encrypted"] = encrypt(values.pop("password"))
    if "host" in values:
        values["host"] = values["host"].strip().lower()
    async with tenant_transaction(scope.tenant_id):
        await _provider(scope, provider_id)
        if values:
            await TelephonyProvider.update({**values, "updated_at": datetime.now(UTC)}).where(  # type: ignore[arg-type,dict-item]
                (TelephonyProvider.id == provider_id) & (TelephonyProvider.tenant_id == scope.tenant_id)
            )
            await emit(scope, Subject("telephony_provider", provider_id), "telephony.provider_updated", audit=_secrets_audit(data))
        return await _provider(scope, provider_id)


async def delete_provider(scope: TenantScope, provider_id: int) -> None:
    """Remove a provider (its calls stay). Audited."""
    policy.PROVIDERS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        provider = await _provider(scope, provider_id)
        await TelephonyProvider.delete().where((TelephonyProvider.id == provider_id) & (TelephonyProvider.tenant_id == scope.tenant_id))
        await emit(scope, Subject("telephony_provider", provider_id), "telephony.provider_deleted", audit={"name": provider.name})


async def test_provider(scope: TenantScope, provider_id: int) -> schemas.ProviderTest:
    """For a provider that dials, whether its REST API accepts the credentials; for the others, whether its host and
    port accept a TCP connection within 3 s. Both under the webhooks' SSRF rules (no loopback, private, link-local or
    metadata address unless the operator allows private targets)."""
    policy.PROVIDERS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        provider = await _provider(scope, provider_id)
        account = await provider_account(scope, provider_id)
    adapter = telephony.adapter_for(account) if account else None
    result: schemas.ProviderTest
    if isinstance(adapter, telephony.TwilioAdapter):
        checked = await adapter.check()
        if checked.error and checked.error.startswith("Refused"):
            raise ValidationFailed(
                checked.error,
                details={"field": "api_url", "provided": adapter.base, "expected": "a public address", "reason": "target"},
                human="This provider's address is not public; it cannot be reached from here",
            )
        result = schemas.ProviderTest(ok=checked.ok, address=adapter.base, latency_ms=checked.latency_ms, error=checked.error)
        async with tenant_transaction(scope.tenant_id):
            await fetch("UPDATE telephony_provider SET last_tested_at = now(), last_test_ok = $2 WHERE id = $1", provider_id, result.ok)
        return result
    host = provider.host.strip("[]")
    try:
        address = await resolve_checked(
            Target(scheme="http", host=host, port=provider.port, path_and_query="/"), allow_private=current().webhook_allow_private_targets
        )
    except UnsafeTarget as exc:
        raise ValidationFailed(
            str(exc).replace("webhook_url", "host").replace("webhooks go", "providers are tested"),
            details={"field": "host", "provided": provider.host, "expected": "a public address", "reason": "target"},
            human="This provider's address is not public; it cannot be tested from here",
        ) from None
    started = time.perf_counter()
    try:
        async with asyncio.timeout(TEST_TIMEOUT):
            _, writer = await asyncio.open_connection(address, provider.port)
        writer.close()
        result = schemas.ProviderTest(ok=True, address=address, latency_ms=round((time.perf_counter() - started) * 1000, 1), error=None)
    except (OSError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or type(exc).__name__)
        result = schemas.ProviderTest(
            ok=False, address=address, latency_ms=None, error=f"Could not connect to {address}:{provider.port}: {reason}"
        )
    async with tenant_transaction(scope.tenant_id):
        await fetch("UPDATE telephony_provider SET last_tested_at = now(), last_test_ok = $2 WHERE id = $1", provider_id, result.ok)
    return result


# The provider-neutral call-event webhook.
def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`, as the PBX sends it in `X-Atrium-Signature`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


_EVENT_STATUS = {"ringing": "ringing", "answered": "answered", "completed": "completed", "failed": "failed", "abandoned": "abandoned"}


async def receive_event(provider_id: int, body: bytes, signature: str | None) -> schemas.CallEventApplied:
    """Apply a PBX's signed call event once: the provider names the tenant, its secret verifies the body, `event_id`
    de-duplicates, `call_id` (the provider's) finds or makes the call. 401 for a bad signature or unknown provider."""
    refused = AuthenticationError("Invalid signature")
    if not 0 < provider_id <= schemas.BIGINT_MAX or not signature:
        raise refused
    async with system_transaction():
        owner = await fetch("SELECT tenant_id FROM telephony_provider WHERE id = $1", provider_id)
    if not owner:
        raise refused
    scope = TenantScope.system(owner[0]["tenant_id"], f"telephony provider {provider_id}")
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch("SELECT webhook_secret_encrypted, is_active FROM telephony_provider WHERE id = $1", provider_id)
        secret = decrypt(rows[0]["webhook_secret_encrypted"]) if rows else ""
        if not secret or not rows[0]["is_active"] or not hmac.compare_digest(sign(secret, body), signature.strip()):
            raise refused
    try:
        event = msgspec.json.decode(body, type=schemas.CallEventIn)
    except msgspec.ValidationError as exc:
        from app.core.validation import invalid_input

        raise invalid_input(exc) from None
    except msgspec.DecodeError:
        raise ValidationFailed("Malformed JSON", details={"field": "body", "expected": "a JSON call event"}) from None
    try:
        return await _apply_event(scope, provider_id, event)
    except UniqueViolationError:  # the same event or call arriving twice at once: the other one applied it
        async with tenant_transaction(scope.tenant_id):
            found = await fetch(
                "SELECT id FROM call WHERE tenant_id = $1 AND provider_id = $2 AND external_id = $3",
                scope.tenant_id,
                provider_id,
                event.call_id,
            )
        return schemas.CallEventApplied(call_id=found[0]["id"] if found else 0, applied=False)


async def _apply_event(scope: TenantScope, provider_id: int, event: schemas.CallEventIn) -> schemas.CallEventApplied:
    at = event.timestamp.astimezone(UTC)
    async with tenant_transaction(scope.tenant_id):
        seen = await fetch(
            "SELECT call_id FROM call_event WHERE tenant_id = $1 AND provider_id = $2 AND external_event_id = $3",
            scope.tenant_id,
            provider_id,
            event.event_id,
        )
        if seen:
            return schemas.CallEventApplied(call_id=seen[0]["call_id"], applied=False)
        agent = None
        if event.agent_email:
            people = await fetch(
                "SELECT id, role FROM app_user WHERE tenant_id = $1 AND lower(email) = lower($2) AND is_active",
                scope.tenant_id,
                event.agent_email,
            )
            agent = people[0]["id"] if people and policy.can_take_calls(people[0]["role"]) else None
        existing = await fetch(
            "SELECT * FROM call WHERE tenant_id = $1 AND provider_id = $2 AND external_id = $3 FOR UPDATE",
            scope.tenant_id,
            provider_id,
            event.call_id,
        )
        if not existing:
            rows = await Call.insert(
                Call(
                    tenant_id=scope.tenant_id,
                    direction=event.direction,
                    status="ringing",
                    from_number=event.from_number,
                    to_number=event.to_number,
                    agent_id=agent,
                    queue=event.queue,
                    started_at=at,
                    provider_id=provider_id,
                    external_id=event.call_id,
                )
            ).returning(Call.id)
            before = (await fetch("SELECT * FROM call WHERE id = $1", rows[0]["id"]))[0]
            call = await _read(scope, before["id"])
            await emit(
                scope,
                _subject(call),
                "call_logged",
                f"{call.direction.title()} call from the PBX",
                events=[("call.created", payload(call))],
            )
        else:
            before = existing[0]
        values: dict[str, Any] = {}
        if agent is not None and before["agent_id"] is None:
            values["agent_id"] = agent
        if event.queue and not before["queue"]:
            values["queue"] = event.queue
        if event.disposition:
            values["disposition"] = event.disposition
        if event.transcript:
            values["transcript"] = event.transcript
        status = _EVENT_STATUS.get(event.event)
        if status == "answered":
            values.update(status="answered", answered_at=max(at, before["started_at"]))
        elif status in ("completed", "failed", "abandoned"):
            ended = max(at, before["answered_at"] or before["started_at"])
            values.update(status=status, ended_at=ended)
            if status == "completed" and before["answered_at"] is None:
                values["answered_at"] = before["started_at"]
        await _apply(scope, before, values, at)
        await _event(
            scope,
            before["id"],
            "transfer" if event.event == "transferred" else event.event,
            transfer_type=event.transfer_type if event.event == "transferred" else None,
            extension=event.extension,
            provider_id=provider_id,
            external_event_id=event.event_id,
            data=json.dumps(msgspec.to_builtins(event)),
        )
        return schemas.CallEventApplied(call_id=before["id"], applied=True)
