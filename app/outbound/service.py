"""Webhook endpoints and their delivery log, always within the caller's tenant (who may: app.outbound.policy)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from msgspec import UNSET

from app.core.errors import Conflict, ResourceNotFound, ValidationFailed
from app.core.pagination import ListQuery, Page, page_of
from app.db import TenantScope, fetch, tenant_transaction
from app.events.catalog import ALL, event_types, unknown
from app.events.service import Subject, emit
from app.outbound import policy, schemas, signing
from app.outbound.schemas import URL_EXPECTED
from app.outbound.ssrf import MalformedTarget, UnsafeTarget, check_url, parse_target, resolve_checked
from app.settings import current

ROTATION_GRACE = timedelta(hours=24)
SLOTS = 10  # concurrent deliveries per tenant (§7.2)
MAX_ENDPOINTS = 50


async def check_target(url: str) -> str:
    """422 unless `url` is http(s) on an address webhooks may reach (resolved now; checked again at every send).

    `details.reason` says which: `syntax` (the URL is malformed) or `target` (well-formed, but it points where
    webhooks may not go, or its name does not resolve) — a URL the schema's pattern admits can only get `target`.
    """
    allow = current().webhook_allow_private_targets
    try:
        check_url(url, allow_private=allow)
        await resolve_checked(parse_target(url), allow_private=allow)
    except UnsafeTarget as refused:
        malformed = isinstance(refused, MalformedTarget)
        raise ValidationFailed(
            f"Invalid webhook_url: {refused}",
            details={
                "field": "webhook_url",
                "provided": url,
                "expected": URL_EXPECTED if malformed else "an http:// or https:// URL on a public address",
                "reason": "syntax" if malformed else "target",
            },
            human=str(refused),
        ) from None
    return url


def _events(names: list[str]) -> list[str]:
    wrong = unknown(names)
    if wrong:
        raise ValidationFailed(
            f"Invalid events: unknown event type {wrong[0]}",
            details={"field": "events", "provided": wrong, "expected": f"`*` or any of: {', '.join(event_types())}"},
            human=f"Unknown event type {wrong[0]}",
        )
    return [ALL] if ALL in names else list(dict.fromkeys(names))


def _out(row: dict[str, Any], *, reveal: bool = False) -> schemas.Webhook:
    events = row["events"]
    return schemas.Webhook(
        id=row["id"],
        webhook_url=row["url"],
        events=list(events) if not isinstance(events, str) else json.loads(events),
        retry_policy=schemas.RetryPolicyOut(max_retries=row["max_retries"], retry_delay_seconds=row["retry_delay_seconds"]),
        active=row["active"],
        description=row["description"],
        disabled_reason=row["disabled_reason"],
        secret_key=row["secret_key"] if reveal else signing.masked(row["secret_key"]),
        previous_secret_expires_at=row["previous_secret_expires_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _load(scope: TenantScope, webhook_id: int, *, lock: bool = False) -> dict[str, Any]:
    rows = await fetch(
        f"SELECT * FROM webhook_endpoint WHERE tenant_id = $1 AND id = $2{' FOR UPDATE' if lock else ''}", scope.tenant_id, webhook_id
    )
    if not rows:
        raise ResourceNotFound("Webhook not found", details={"webhook_id": webhook_id})
    return rows[0]


async def create(scope: TenantScope, data: schemas.WebhookCreate) -> schemas.Webhook:
    """Register an endpoint; its secret is generated when not given and shown in full this once."""
    policy.MANAGE.require(scope)
    url = data.webhook_url if data.webhook_url is not UNSET else data.url
    if url is UNSET:
        raise ValidationFailed(
            "Missing webhook_url", details={"field": "webhook_url", "expected": "an https:// URL"}, human="Enter the URL"
        )
    await check_target(url)
    secret = data.secret_key if data.secret_key is not UNSET else data.secret if data.secret is not UNSET else signing.generate_secret()
    events = _events(data.events if data.events is not UNSET else [ALL])
    retry = data.retry_policy if data.retry_policy is not UNSET else schemas.RetryPolicy()
    async with tenant_transaction(scope.tenant_id):
        count = await fetch("SELECT count(*) AS n FROM webhook_endpoint WHERE tenant_id = $1", scope.tenant_id)
        if count[0]["n"] >= MAX_ENDPOINTS:
            raise Conflict(f"A tenant can have at most {MAX_ENDPOINTS} webhooks", details={"limit": MAX_ENDPOINTS})
        rows = await fetch(
            """INSERT INTO webhook_endpoint
                      (tenant_id, url, description, events, secret_key, max_retries, retry_delay_seconds, active, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *""",
            scope.tenant_id,
            url,
            data.description,
            events,
            secret,
            retry.max_retries,
            retry.retry_delay_seconds,
            data.active,
            scope.user_id,
        )
        await fetch(
            "INSERT INTO webhook_slot (tenant_id, slot) SELECT $1, s FROM generate_series(0, $2 - 1) s ON CONFLICT DO NOTHING",
            scope.tenant_id,
            SLOTS,
        )
        await emit(scope, Subject("webhook", rows[0]["id"]), "webhook.created", audit={"url": url, "events": events})
    return _out(rows[0], reveal=True)


async def list_webhooks(scope: TenantScope, query: ListQuery) -> Page[schemas.Webhook]:
    """The tenant's endpoints, newest first."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            f"SELECT * FROM webhook_endpoint WHERE tenant_id = $1 ORDER BY id DESC LIMIT {query.limit} OFFSET {query.offset}",
            scope.tenant_id,
        )
        total = (await fetch("SELECT count(*) AS n FROM webhook_endpoint WHERE tenant_id = $1", scope.tenant_id))[0]["n"]
    return page_of(schemas.Webhook, [msgspec.to_builtins(_out(r)) for r in rows], query, int(total))


async def get(scope: TenantScope, webhook_id: int) -> schemas.Webhook:
    """One endpoint (404 for other tenants' ids)."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return _out(await _load(scope, webhook_id))


async def update(scope: TenantScope, webhook_id: int, data: schemas.WebhookUpdate) -> schemas.Webhook:
    """Change an endpoint; turning it back on clears why it was disabled."""
    policy.MANAGE.require(scope)
    values: dict[str, Any] = {}
    if data.webhook_url is not UNSET:
        values["url"] = await check_target(data.webhook_url)
    if data.events is not UNSET:
        values["events"] = _events(data.events)
    if data.retry_policy is not UNSET:
        values.update(max_retries=data.retry_policy.max_retries, retry_delay_seconds=data.retry_policy.retry_delay_seconds)
    if data.active is not UNSET:
        values["active"] = data.active
        if data.active:
            values["disabled_reason"] = None
    if data.description is not UNSET:
        values["description"] = data.description
    if data.secret_key is not UNSET:
        values.update(secret_key=data.secret_key, previous_secret_key=None, previous_secret_expires_at=None)
    async with tenant_transaction(scope.tenant_id):
        current_row = await _load(scope, webhook_id, lock=True)
        if values:
            sets = ", ".join(f"{name} = ${i + 3}" for i, name in enumerate(values))
            await fetch(
                f"UPDATE webhook_endpoint SET {sets}, updated_at = now() WHERE tenant_id = $1 AND id = $2",
                scope.tenant_id,
                webhook_id,
                *values.values(),
            )
            changed = sorted(k for k in values if k not in ("secret_key", "previous_secret_key", "previous_secret_expires_at"))
            await emit(scope, Subject("webhook", webhook_id), "webhook.updated", audit={"changed": changed, "url": current_row["url"]})
        return _out(await _load(scope, webhook_id), reveal=data.secret_key is not UNSET)


async def rotate_secret(scope: TenantScope, webhook_id: int) -> schemas.Webhook:
    """A new secret, shown once; the old one stays valid (and deliveries carry both signatures) for 24 hours."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = await _load(scope, webhook_id, lock=True)
        await fetch(
            """UPDATE webhook_endpoint SET previous_secret_key = secret_key, previous_secret_expires_at = $3, secret_key = $4,
               updated_at = now() WHERE tenant_id = $1 AND id = $2""",
            scope.tenant_id,
            webhook_id,
            datetime.now(UTC) + ROTATION_GRACE,
            signing.generate_secret(),
        )
        await emit(scope, Subject("webhook", webhook_id), "webhook.secret_rotated", audit={"url": row["url"]})
        return _out(await _load(scope, webhook_id), reveal=True)


async def delete(scope: TenantScope, webhook_id: int) -> None:
    """Remove an endpoint with its delivery log."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = await _load(scope, webhook_id, lock=True)
        await fetch("DELETE FROM webhook_endpoint WHERE tenant_id = $1 AND id = $2", scope.tenant_id, webhook_id)
        await emit(scope, Subject("webhook", webhook_id), "webhook.deleted", audit={"url": row["url"]})


_DELIVERY = """SELECT id, delivery_key AS delivery_id, endpoint_id AS webhook_id, event_type, status, attempts,
                      CASE WHEN status = 'pending' THEN next_attempt_at END AS next_attempt_at, last_status_code, last_error,
                      is_test, created_at, delivered_at, failed_at FROM webhook_delivery"""
STATUSES = ("pending", "sending", "delivered", "failed")


async def deliveries(scope: TenantScope, webhook_id: int, query: ListQuery, status: str | None = None) -> Page[schemas.Delivery]:
    """An endpoint's delivery log, newest first, optionally of one status."""
    policy.MANAGE.require(scope)
    if status is not None and status not in STATUSES:
        raise ValidationFailed(
            f"Invalid status: {status}", details={"field": "status", "provided": status, "expected": f"one of {', '.join(STATUSES)}"}
        )
    where = "tenant_id = $1 AND endpoint_id = $2"
    args: list[object] = [scope.tenant_id, webhook_id]
    if status:
        where += " AND status = $3"
        args.append(status)
    async with tenant_transaction(scope.tenant_id):
        await _load(scope, webhook_id)
        rows = await fetch(f"{_DELIVERY} WHERE {where} ORDER BY id DESC LIMIT {query.limit} OFFSET {query.offset}", *args)
        total = (await fetch(f"SELECT count(*) AS n FROM webhook_delivery WHERE {where}", *args))[0]["n"]
    return page_of(schemas.Delivery, rows, query, int(total))


async def delivery(scope: TenantScope, delivery_id: int) -> schemas.DeliveryDetail:
    """One delivery with its body and every attempt."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(f"{_DELIVERY.replace('FROM', ', body FROM', 1)} WHERE tenant_id = $1 AND id = $2", scope.tenant_id, delivery_id)
        if not rows:
            raise ResourceNotFound("Delivery not found", details={"delivery_id": delivery_id})
        attempts = await fetch(
            """SELECT attempt, url, request_headers, status_code, response_headers, response_excerpt, error, duration_ms, created_at
               FROM webhook_attempt WHERE tenant_id = $1 AND delivery_id = $2 ORDER BY attempt""",
            scope.tenant_id,
            delivery_id,
        )
    for attempt in attempts:
        for name in ("request_headers", "response_headers"):
            if isinstance(attempt[name], str):
                attempt[name] = json.loads(attempt[name])
    return msgspec.convert({**rows[0], "attempt_log": attempts}, schemas.DeliveryDetail)
