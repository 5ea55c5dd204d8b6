"""Delivering events: the relay (outbox → deliveries), the delivery job, retries, ordering, and the sweeper.

The relay claims undispatched outbox events (`FOR UPDATE SKIP LOCKED`, so several workers share
the work), writes one delivery per subscribed endpoint with the exact body to send, marks the
events dispatched, commits, and queues one `deliver_webhook` job per delivery. A crash between the
commit and the queueing is repaired by the sweeper, which queues any delivery that is due and
idle; a crash during a send leaves the delivery `sending` with an expired lease, which the sweeper
turns back to `pending` (at-least-once: the receiver de-duplicates by `X-Atrium-Delivery-ID`).

A delivery is sent only when it wins an atomic claim (`pending` → `sending`), when no earlier
event of the same resource is still pending for the same endpoint (per-resource order), and
when one of the tenant's 10 slots is free (at most 10 concurrent deliveries per tenant).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from saq import Queue
from saq.types import Context

from app.core.errors import ResourceNotFound
from app.core.jobs import job
from app.core.json import encode_json
from app.db import TenantScope, fetch, system_transaction, tenant_transaction
from app.events.catalog import live_only
from app.events.consumer import OutboxLoop
from app.events.notifications import tell_admins
from app.events.service import Subject, emit
from app.outbound import policy, schemas, sender, signing
from app.outbound.service import _DELIVERY, _load, check_target
from app.settings import current

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=sender.TIMEOUT + 5)  # longer than a send, with room for the bookkeeping
BATCH = 500

# What a delivery of outbox event `e` sends (the reference payload's envelope) and how it is ordered; to endpoint `w`.
_DELIVERY_OF_EVENT = """e.tenant_id, w.id, 'evt_' || substr(md5(random()::text || clock_timestamp()::text || w.id::text), 1, 20), e.id,
           e.event_type, CASE WHEN e.subject_id IS NULL THEN '' ELSE e.subject_type || ':' || e.subject_id END,
           format('{"event":%s,"timestamp":%s,"tenant_id":%s,"data":%s}', to_json(e.event_type::text),
                  to_json(to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')), e.tenant_id, e.data::text),
           'pending', now()"""
_DELIVERY_COLUMNS = "tenant_id, endpoint_id, delivery_key, event_id, event_type, ordering_key, body, status, next_attempt_at"

# Outbox events → deliveries, in one statement: one row per (event, subscribed active endpoint).
_FAN_OUT = f"""
WITH events AS (
    SELECT id, tenant_id, event_type, subject_type, subject_id, data, occurred_at FROM outbox_event
     WHERE dispatched_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
), marked AS (
    UPDATE outbox_event o SET dispatched_at = now() FROM events e WHERE o.id = e.id RETURNING o.id
), created AS (
    INSERT INTO webhook_delivery ({_DELIVERY_COLUMNS})
    SELECT {_DELIVERY_OF_EVENT}
      FROM events e JOIN webhook_endpoint w ON w.tenant_id = e.tenant_id AND w.active
                                             AND e.event_type <> ALL($2::text[])  -- live-only types are never delivered
                                             AND (w.events @> ARRAY['*']::varchar[] OR w.events @> ARRAY[e.event_type]::varchar[])
     ORDER BY e.id, w.id
    RETURNING id, tenant_id, attempts
)
SELECT (SELECT count(*) FROM marked) AS events,
       coalesce(json_agg(json_build_array(id, tenant_id, attempts)), '[]') AS deliveries FROM created
"""


async def enqueue(queue: Queue, deliveries: Sequence[tuple[int, int, int]], *, at: float | None = None, via: str = "") -> None:
    """Queue a job per (delivery id, tenant id, attempt) — the key makes a second ask a no-op while one is queued.

    `via` tells apart the asks of one attempt that can come within the same second (SAQ queues a finished
    key again only in a later second): the relay's, and the one made when the event before it is done."""
    for start in range(0, len(deliveries), 20):  # 20 at a time over the queue's connections
        await asyncio.gather(
            *(
                deliver_webhook.enqueue(queue, scheduled=at, tenant_id=tenant_id, delivery_id=delivery_id, attempt=attempt, via=via)
                for delivery_id, tenant_id, attempt in deliveries[start : start + 20]
            )
        )


async def deliver_event(tenant_id: int, endpoint_id: int, event_id: int) -> tuple[int, int, int] | None:
    """A delivery of one outbox event to one of the tenant's active endpoints (an automation rule's "call a webhook"),
    written in the caller's tenant transaction: the same body, signing, SSRF check at send time and retries as a
    subscription's. (delivery id, tenant id, attempt) for `enqueue` once the caller commits; None when the endpoint
    is gone or off. A delivery the caller does not queue is queued by the sweeper."""
    rows = await fetch(
        f"""INSERT INTO webhook_delivery ({_DELIVERY_COLUMNS})
            SELECT {_DELIVERY_OF_EVENT} FROM outbox_event e JOIN webhook_endpoint w ON w.tenant_id = e.tenant_id AND w.active
             WHERE e.tenant_id = $1 AND e.id = $2 AND w.id = $3
            RETURNING id, tenant_id, attempts""",
        tenant_id,
        event_id,
        endpoint_id,
    )
    return (rows[0]["id"], rows[0]["tenant_id"], rows[0]["attempts"]) if rows else None


async def relay_once(queue: Queue, batch: int = BATCH) -> int:
    """Dispatch up to `batch` outbox events; returns how many were taken."""
    async with system_transaction():
        row = (await fetch(_FAN_OUT, batch, list(live_only())))[0]
    created = json.loads(row["deliveries"]) if isinstance(row["deliveries"], str) else row["deliveries"]
    await enqueue(queue, [(d[0], d[1], d[2]) for d in created])
    return int(row["events"])


async def sweep(queue: Queue) -> int:
    """Repair what crashes left: expired `sending` leases back to `pending`, and due idle deliveries queued again."""
    async with system_transaction():
        await fetch("UPDATE webhook_delivery SET status = 'pending', lease_until = NULL WHERE status = 'sending' AND lease_until < now()")
        due = await fetch(
            """SELECT id, tenant_id, attempts FROM webhook_delivery
                WHERE status = 'pending' AND next_attempt_at < now() - interval '10 seconds' ORDER BY next_attempt_at LIMIT 1000"""
        )
    await enqueue(queue, [(d["id"], d["tenant_id"], d["attempts"]) for d in due])
    return len(due)


class Relay(OutboxLoop):
    """The worker's loop: woken by the outbox trigger's NOTIFY (or every 2 s), it dispatches, and sweeps every 5 s."""

    name = "webhook relay"

    def __init__(self, queue: Queue, dsn: str) -> None:
        super().__init__(dsn)
        self.queue = queue
        self.last_sweep = 0.0

    async def drain(self) -> None:
        while await relay_once(self.queue) >= BATCH:
            pass
        if time.monotonic() - self.last_sweep > 5:
            self.last_sweep = time.monotonic()
            await sweep(self.queue)


def _delay(endpoint: dict[str, Any], attempts: int, retry_after: float | None) -> float | None:
    """Seconds before the next try, or None when retries are exhausted.

    The n-th retry waits WEBHOOK_RETRY_DELAYS[n] (default 60, 300, 900 s; the last repeats) scaled by the
    endpoint's retry_delay_seconds / 60; a receiver's Retry-After wins (capped at an hour)."""
    if attempts > endpoint["max_retries"]:
        return None
    schedule = current().webhook_retry_delays or (60,)
    base = schedule[min(attempts - 1, len(schedule) - 1)] * endpoint["retry_delay_seconds"] / 60
    return min(retry_after, 3600.0) if retry_after is not None else base


# Claim the delivery and lease a slot in one statement: nothing is claimed when no slot is free.
_CLAIM = """
WITH free AS (
    SELECT id, slot FROM webhook_slot WHERE tenant_id = $1 AND leased_until < now() ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE webhook_delivery d SET status = 'sending', lease_until = now() + $3::interval, attempts = attempts + 1
     WHERE d.tenant_id = $1 AND d.id = $2 AND d.status = 'pending' AND d.next_attempt_at <= now() AND EXISTS (SELECT 1 FROM free)
       AND NOT EXISTS (SELECT 1 FROM webhook_delivery e
                        WHERE d.ordering_key <> '' AND e.endpoint_id = d.endpoint_id AND e.ordering_key = d.ordering_key
                          AND e.event_id < d.event_id AND e.status IN ('pending', 'sending'))
    RETURNING d.id, d.endpoint_id, d.delivery_key, d.event_type, d.ordering_key, d.body, d.attempts, d.is_test
), leased AS (
    UPDATE webhook_slot s SET delivery_id = $2, leased_until = now() + $3::interval
      FROM free WHERE s.id = free.id AND EXISTS (SELECT 1 FROM claimed) RETURNING s.slot
)
SELECT (SELECT count(*) FROM free) AS free, (SELECT slot FROM leased) AS slot, c.*,
       w.url, w.secret_key, w.previous_secret_key, w.previous_secret_expires_at, w.active, w.max_retries, w.retry_delay_seconds
  FROM (SELECT 1) one LEFT JOIN claimed c ON true LEFT JOIN webhook_endpoint w ON w.id = c.endpoint_id
"""


async def _claim(tenant_id: int, delivery_id: int) -> dict[str, Any] | None:
    """Take the delivery and a slot; None when it is not ours to send now (raises _NoSlot when all slots are busy)."""
    async with tenant_transaction(tenant_id):
        row = (await fetch(_CLAIM, tenant_id, delivery_id, LEASE))[0]
    if row["id"] is not None:
        return row
    if not row["free"]:
        raise _NoSlot
    return None


async def _attempts(tenant_id: int, delivery_id: int) -> int | None:
    async with tenant_transaction(tenant_id):
        rows = await fetch("SELECT attempts FROM webhook_delivery WHERE tenant_id = $1 AND id = $2", tenant_id, delivery_id)
    return int(rows[0]["attempts"]) if rows else None


class _NoSlot(Exception):
    """All of the tenant's slots are busy: the claim is rolled back."""


async def attempt_delivery(tenant_id: int, delivery_id: int, queue: Queue | None) -> str:
    """Try to send one delivery now; returns what happened (`delivered`, `retrying`, `failed`, `busy`, `skipped`)."""
    for _ in range(4):  # a moment for a slot to free up, then queued again a second later (the worker is not held)
        try:
            taken = await _claim(tenant_id, delivery_id)
            break
        except _NoSlot:
            await asyncio.sleep(0.25)
    else:
        if queue is not None:
            attempt = int((await _attempts(tenant_id, delivery_id)) or 0)
            await enqueue(queue, [(delivery_id, tenant_id, attempt)], at=math.ceil(time.time() + 1), via=f":wait{time.time_ns()}")
        return "busy"
    if taken is None:
        return "skipped"
    delivery = endpoint = taken  # one row: the delivery with its endpoint's columns
    settings = current()
    body = delivery["body"].encode()
    previous = endpoint["previous_secret_key"]
    expires = endpoint["previous_secret_expires_at"]
    headers = signing.headers(
        event_type=delivery["event_type"],
        delivery_key=delivery["delivery_key"],
        body=body,
        timestamp=int(time.time()),
        secret=endpoint["secret_key"],
        previous_secret=previous if previous and expires and expires > datetime.now(UTC) else None,
    )
    if not endpoint["active"]:
        outcome = sender.Outcome(error="The endpoint is disabled")
    else:
        outcome = await sender.post(endpoint["url"], headers, body, allow_private=settings.webhook_allow_private_targets)
    return await _record(tenant_id, delivery, headers, outcome, queue)


# Log the attempt, move the delivery on, free the slot and find the next event of the same resource: one statement.
_RECORD = """
WITH attempt AS (
    INSERT INTO webhook_attempt (tenant_id, delivery_id, attempt, url, request_headers, status_code, response_headers,
                                 response_excerpt, error, duration_ms)
    VALUES ($1, $2, (SELECT coalesce(max(attempt), 0) + 1 FROM webhook_attempt WHERE delivery_id = $2),
            $3, $4::jsonb, $5, $6::jsonb, $7, $8, $9)
), moved AS (
    UPDATE webhook_delivery SET status = $10::text, lease_until = NULL, last_status_code = $5, last_error = $8,
           next_attempt_at = CASE WHEN $10::text = 'pending' THEN now() + make_interval(secs => $11) ELSE next_attempt_at END,
           delivered_at = CASE WHEN $10::text = 'delivered' THEN now() END,
           failed_at = CASE WHEN $10::text = 'failed' THEN now() END
     WHERE tenant_id = $1 AND id = $2 AND status = 'sending'
), freed AS (
    UPDATE webhook_slot SET leased_until = now(), delivery_id = NULL WHERE tenant_id = $1 AND slot = $12 AND delivery_id = $2
)
SELECT id, attempts FROM webhook_delivery
 WHERE $10::text <> 'pending' AND $13::text <> '' AND endpoint_id = $14 AND ordering_key = $13::text AND status = 'pending' AND id <> $2
 ORDER BY event_id LIMIT 1
"""


async def _record(tenant_id: int, delivery: dict[str, Any], headers: dict[str, str], outcome: sender.Outcome, queue: Queue | None) -> str:
    """Log the attempt and move the delivery on, in one transaction; then queue what comes next.

    `delivery` is the claimed row with its endpoint's columns (see _CLAIM)."""
    gone = outcome.status_code == 410
    active = delivery["active"]
    retries = not (outcome.ok or gone or not active or delivery["is_test"])  # a test is tried once
    delay = _delay(delivery, delivery["attempts"], outcome.retry_after) if retries else None
    status = "delivered" if outcome.ok else "pending" if delay is not None else "failed"
    shown = {k: v for k, v in headers.items() if "signature" not in k.lower()}
    endpoint_id, url = delivery["endpoint_id"], delivery["url"]
    log_link = f"/settings/webhooks/{endpoint_id}?status=failed"
    told: tuple[list[int], str, str] | None = None
    async with tenant_transaction(tenant_id):
        following = await fetch(
            _RECORD,
            tenant_id,
            delivery["id"],
            url,
            json.dumps(shown),
            outcome.status_code,
            json.dumps(outcome.headers),
            outcome.excerpt.replace("\x00", ""),
            outcome.error,
            outcome.duration_ms,
            status,
            float(delay or 0),
            delivery["slot"],
            delivery["ordering_key"],
            endpoint_id,
        )
        if gone and active:
            reason = "The receiver answered 410 Gone"
            await fetch(
                "UPDATE webhook_endpoint SET active = false, disabled_reason = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                endpoint_id,
                reason,
            )
            scope = TenantScope.system(tenant_id, "system:webhooks")
            await emit(scope, Subject("webhook", endpoint_id), "webhook.disabled", audit={"url": url, "reason": reason})
            told = await tell_admins(
                tenant_id,
                f"/settings/webhooks/{endpoint_id}?status=failed",
                f"The webhook to {url} was turned off: the receiver answered 410 Gone.",
            )
        elif status == "failed" and active and not delivery["is_test"]:  # turned off by an admin: not news
            message = f"A {delivery['event_type']} delivery to {url} failed after {delivery['attempts']} attempts."
            told = await tell_admins(tenant_id, log_link, message)
    if told is not None and told[0]:
        from app.events.mail import send_to_users

        await send_to_users(tenant_id, told[0], "Atrium: a webhook is failing", f"{told[1]}\n\n{current().base_url}{told[2]}")
    if queue is not None:
        if status == "pending" and delay is not None:
            await enqueue(queue, [(delivery["id"], tenant_id, delivery["attempts"])], at=math.ceil(time.time() + delay))
        await enqueue(queue, [(f["id"], tenant_id, f["attempts"]) for f in following], via=":next")
    return "retrying" if status == "pending" else status


@job(key="webhook:{delivery_id}:{attempt}{via}", timeout=60, retries=0)
async def deliver_webhook(ctx: Context, *, tenant_id: int, delivery_id: int, attempt: int, via: str = "") -> str:
    """Send one delivery (the key holds its attempt number, so a retry is a new job and a re-ask is a no-op)."""
    return await attempt_delivery(tenant_id, delivery_id, ctx["worker"].queue)


async def redeliver(scope: TenantScope, queue: Queue, delivery_ids: list[int] | None, webhook_id: int | None, limit: int) -> list[int]:
    """Send deliveries again with a fresh set of retries: the named ones (failed or delivered), else the failed ones
    (oldest first, at most `limit`); returns the ids queued."""
    policy.MANAGE.require(scope)
    async with tenant_transaction(scope.tenant_id):
        if webhook_id is not None:
            await _load(scope, webhook_id)
        rows = await fetch(
            """UPDATE webhook_delivery SET status = 'pending', attempts = 0, next_attempt_at = now(), failed_at = NULL
                WHERE id IN (SELECT id FROM webhook_delivery WHERE tenant_id = $1
                               AND CASE WHEN $2::bigint[] IS NULL THEN status = 'failed' AND NOT is_test
                                        ELSE status IN ('failed', 'delivered') AND id = ANY($2) END
                               AND ($3::bigint IS NULL OR endpoint_id = $3)
                             ORDER BY id LIMIT $4 FOR UPDATE)
            RETURNING id, attempts""",
            scope.tenant_id,
            delivery_ids,
            webhook_id,
            limit,
        )
        if delivery_ids is not None and len(rows) < min(len(set(delivery_ids)), limit):
            raise ResourceNotFound("Some deliveries do not exist or are still being sent", details={"field": "delivery_ids"})
        if rows:
            await emit(scope, Subject("webhook", webhook_id or 0), "webhook.redelivered", audit={"delivery_ids": [r["id"] for r in rows]})
    # Its own key: the relay's first job for this attempt number may have finished within this second.
    await enqueue(queue, [(r["id"], scope.tenant_id, r["attempts"]) for r in rows], via=f":again{time.time_ns()}")
    return [r["id"] for r in rows]


async def send_test(
    scope: TenantScope, event_type: str, webhook_url: str | None, sample: dict[str, Any], *, webhook_id: int | None = None
) -> schemas.TestResult:
    """§9.2: send a sample event now and report each answer. To the registered endpoints taking `event_type`
    (or the one at `webhook_url`); to an unregistered `webhook_url` with a one-off secret returned in the answer."""
    policy.MANAGE.require(scope)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = encode_json({"event": event_type, "timestamp": stamp, "tenant_id": scope.tenant_id, "data": sample}).decode()
    async with tenant_transaction(scope.tenant_id):
        if webhook_id is not None:  # the screen's button: this endpoint, if it is on
            sql = "SELECT id FROM webhook_endpoint WHERE tenant_id = $1 AND id = $2 AND active"
            endpoints = await fetch(sql, scope.tenant_id, webhook_id)
        else:
            endpoints = await fetch(
                """SELECT id FROM webhook_endpoint WHERE tenant_id = $1 AND active
                     AND (($2::text IS NOT NULL AND url = $2)
                          OR ($2::text IS NULL AND (events @> ARRAY['*']::varchar[] OR events @> ARRAY[$3]::varchar[])))
                   ORDER BY id""",
                scope.tenant_id,
                webhook_url,
                event_type,
            )
        created = [
            (
                await fetch(
                    """INSERT INTO webhook_delivery (tenant_id, endpoint_id, delivery_key, event_type, body, is_test)
                       VALUES ($1, $2, 'evt_test_' || substr(md5(random()::text || clock_timestamp()::text), 1, 16), $3, $4, true)
                       RETURNING id""",
                    scope.tenant_id,
                    e["id"],
                    event_type,
                    body,
                )
            )[0]["id"]
            for e in endpoints
        ]
    if not created and webhook_url is not None and webhook_id is None:
        await check_target(webhook_url)
        secret = signing.generate_secret()
        key = "evt_test_" + signing.generate_secret()[6:22].replace("/", "x").replace("+", "y")
        raw = body.encode()
        headers = signing.headers(event_type=event_type, delivery_key=key, body=raw, timestamp=int(time.time()), secret=secret)
        outcome = await sender.post(webhook_url, headers, raw, allow_private=current().webhook_allow_private_targets)
        now = datetime.now(UTC)
        result = schemas.Delivery(
            id=0,
            delivery_id=key,
            webhook_id=0,
            event_type=event_type,
            status="delivered" if outcome.ok else "failed",
            attempts=1,
            next_attempt_at=None,
            last_status_code=outcome.status_code,
            last_error=outcome.error,
            is_test=True,
            created_at=now,
            delivered_at=now if outcome.ok else None,
            failed_at=None if outcome.ok else now,
        )
        return schemas.TestResult(event_type=event_type, results=[result], secret_key=secret)
    await asyncio.gather(*(attempt_delivery(scope.tenant_id, delivery_id, None) for delivery_id in created))
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(f"{_DELIVERY} WHERE tenant_id = $1 AND id = ANY($2::bigint[]) ORDER BY id", scope.tenant_id, created)
    return schemas.TestResult(event_type=event_type, results=[msgspec.convert(r, schemas.Delivery) for r in rows])


async def failed_by_queue(scope: TenantScope) -> dict[str, int]:
    """Failed-work stats: deliveries that exhausted their retries."""
    async with tenant_transaction(scope.tenant_id):
        rows = await fetch(
            "SELECT count(*) AS n FROM webhook_delivery WHERE tenant_id = $1 AND status = 'failed' AND NOT is_test", scope.tenant_id
        )
    return {"webhooks": int(rows[0]["n"])}


async def replay_failed(scope: TenantScope, queue: Queue, name: str, limit: int, dry_run: bool) -> list[int] | None:
    """Failed-work replay of the `webhooks` queue (None for other queues)."""
    if name != "webhooks":
        return None
    if dry_run:
        async with tenant_transaction(scope.tenant_id):
            rows = await fetch(
                "SELECT id FROM webhook_delivery WHERE tenant_id = $1 AND status = 'failed' AND NOT is_test ORDER BY id LIMIT $2",
                scope.tenant_id,
                limit,
            )
        return [r["id"] for r in rows]
    return await redeliver(scope, queue, None, None, limit)
