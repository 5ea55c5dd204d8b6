"""Per-plan API rate limits, shared by every process through PostgreSQL.

The limit of a tenant is the one its operator set (`atrium tenant set-rate-limit`), else its plan's
(`RATE_LIMITS`); `RATE_LIMITS=off` lifts every limit. An unlimited caller costs nothing: no bucket.

A token bucket per tenant (client address before authentication, and for failed credentials): it holds
up to twice the plan's per-minute limit (the burst allowance) and refills at the plan's rate.

A process that sees a bucket busy (more than BUSY requests within a second) takes a small lease of
tokens (a twentieth of the limit) in the same statement, and spends it locally: while a client is
far from its limit, most requests write nothing; a quiet one (a few requests a second) writes one
small row per request. Near the limit (fewer than two leases left in the bucket) every request
takes exactly one token, so the limit itself stays exact. For a busy bucket one request at a
time asks the database for a lease; concurrent ones wait for it and share it. Unspent leases expire after a
second; the allowance they held is lost: at most one lease per bucket and process at a time.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from app.core.errors import RateLimited
from app.db import fetch, system_transaction
from app.settings import DEFAULT_RATE_LIMITS, Settings
from app.web.context import ASGIApp, Receive, Scope, Send, principal_of
from app.web.errors import is_api_path

BURST_FACTOR = 2
LEASE_SECONDS = 1.0
LEASE_SHARE = 20  # a lease is 1/20 of the per-minute limit
BUSY = 8  # requests of a bucket within a second, in this process, before it takes leases
EXEMPT_PATHS = ("/v2/health", "/v2/schema", "/v2/docs")

# $1 bucket, $2 capacity, $3 refill per second, $4 tokens wanted. One atomic upsert: a grant is
# `wanted` only while the bucket holds twice that, else one token while there is one, else none.
# The time is read once (EXCLUDED.updated_at), so every expression of the statement agrees.
_AVAIL = "LEAST($2::float8, b.tokens + EXTRACT(EPOCH FROM EXCLUDED.updated_at - b.updated_at)::float8 * $3::float8)"
_GRANT = f"CASE WHEN {_AVAIL} >= 2 * $4::int THEN $4::int WHEN {_AVAIL} >= 1 THEN 1 ELSE 0 END"
_TAKE = f"""
INSERT INTO rate_limit_bucket AS b (bucket, tokens, allowed, granted, updated_at)
VALUES ($1, $2::float8 - $4::int, true, $4::int, clock_timestamp())
ON CONFLICT (bucket) DO UPDATE SET
  granted = {_GRANT}, tokens = {_AVAIL} - {_GRANT}, allowed = {_GRANT} >= 1, updated_at = EXCLUDED.updated_at
RETURNING granted, tokens
"""


@dataclass(slots=True)
class Lease:
    """Tokens this process took ahead from a shared bucket."""

    tokens: int
    bucket_tokens: float  # what the shared bucket held once they were taken
    expires: float


_leases: dict[str, Lease] = {}
# One request per bucket at a time asks the database; the others wait and spend the lease it brings.
_fetching: dict[str, asyncio.Lock] = {}
_recent: dict[str, tuple[float, int]] = {}  # bucket → (start of its current second, requests in it)


def forget_leases() -> None:
    """Drop this process's leases (when the buckets were emptied behind its back, as tests do)."""
    _leases.clear()
    _recent.clear()
    _fetching.clear()


def _forget_idle(now: float) -> None:
    """Drop the state of buckets not seen for a while (never one whose lock is held or awaited)."""
    for bucket, (started, _) in list(_recent.items()):
        lock = _fetching.get(bucket)
        if now - started > 10 * LEASE_SECONDS and (lock is None or not lock.locked()):
            _recent.pop(bucket, None)
            _leases.pop(bucket, None)
            _fetching.pop(bucket, None)


async def take_tokens(bucket: str, per_minute: int, wanted: int) -> tuple[int, float]:
    """Take up to `wanted` tokens from `bucket` (one when it runs low); returns (granted, tokens left in it)."""
    async with system_transaction():  # buckets belong to no tenant
        rows = await fetch(_TAKE, bucket, float(per_minute * BURST_FACTOR), per_minute / 60.0, wanted)
    return int(rows[0]["granted"]), float(rows[0]["tokens"])


def _from_lease(bucket: str, now: float) -> float | None:
    """Spend one token of this process's lease on `bucket`; the tokens left in all, or None without a lease."""
    lease = _leases.get(bucket)
    if lease is None or lease.tokens <= 0 or now >= lease.expires:
        return None
    lease.tokens -= 1
    return lease.bucket_tokens + lease.tokens


async def _spend_one(bucket: str, limit: int) -> tuple[bool, float]:
    """Spend one request from `bucket`, from a local lease when there is one; (allowed, tokens left)."""
    left = _from_lease(bucket, time.monotonic())
    if left is not None:
        return True, left
    if len(_recent) > 10_000:
        _forget_idle(time.monotonic())
    now = time.monotonic()
    started, seen = _recent.get(bucket, (now, 0))
    if now - started > LEASE_SECONDS:
        started, seen = now, 0
    _recent[bucket] = (started, seen + 1)
    if seen + 1 <= BUSY:  # a quiet bucket: one exact token, no lease, no waiting on other requests
        granted, left = await take_tokens(bucket, limit, 1)
        return granted >= 1, left
    async with _fetching.setdefault(bucket, asyncio.Lock()):
        now = time.monotonic()
        left = _from_lease(bucket, now)  # a request that held the lock may have brought a lease
        if left is not None:
            return True, left
        granted, left = await take_tokens(bucket, limit, max(1, limit // LEASE_SHARE))
        if granted > 1:
            _leases[bucket] = Lease(tokens=granted - 1, bucket_tokens=left, expires=now + LEASE_SECONDS)
        else:
            _leases.pop(bucket, None)  # under the lock, with no usable lease left: nothing of another request's is lost
        return granted >= 1, left + max(0, granted - 1)


def client_ip(scope: Scope) -> str:
    """The caller's address (uvicorn resolves trusted proxy headers)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


ANONYMOUS_PLAN = "starter"


def effective_limit(settings: Settings, plan: str, tenant_limit: int | None = None) -> int:
    """Requests per minute for a tenant: its operator-set limit, else its plan's; 0 is unlimited."""
    if tenant_limit is not None:
        return max(0, tenant_limit)
    return settings.rate_limits.get(plan, settings.rate_limits[ANONYMOUS_PLAN])


async def spend(scope: Scope, bucket: str, plan: str, tenant_limit: int | None = None) -> None:
    """Take one request from `bucket` under `plan` (or the tenant's own limit); keep the headers; 429 when empty.

    Unlimited (RATE_LIMITS=off, a plan set to off, a tenant set to 0) touches no bucket and sends no headers.
    """
    settings: Settings = scope["litestar_app"].state.settings
    if not settings.rate_limiting:
        return
    if bucket.startswith("ip:"):
        # Unauthenticated calls and guessed credentials stay limited unless every limit is off.
        limit = settings.rate_limits[ANONYMOUS_PLAN] or DEFAULT_RATE_LIMITS[ANONYMOUS_PLAN]
    else:
        limit = effective_limit(settings, plan, tenant_limit)
    if limit == 0:
        return
    policy = plan if tenant_limit is None else "tenant"
    allowed, tokens = await _spend_one(bucket, limit)
    rate = limit / 60.0
    remaining = max(0, min(limit, math.floor(tokens)))
    # Seconds until a request is possible again (when out), or until the minute's allowance is back.
    wait = math.ceil((1 - tokens) / rate) if tokens < 1 else math.ceil(max(0.0, limit - tokens) / rate)
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(int(time.time()) + wait),
        "RateLimit-Policy": f'"{policy}";q={limit};w=60',
        "RateLimit": f'"{policy}";r={remaining};t={wait}',
    }
    # Added to whatever answer this request gets, errors included (see context.stamp_response_headers).
    scope.setdefault("state", {})["ratelimit_headers"] = headers
    if not allowed:
        retry = max(1, wait)
        raise RateLimited(f"Rate limit of {limit} requests/minute exceeded", retry_after=retry)


def is_limited(scope: Scope) -> bool:
    """Whether this request counts against a rate limit."""
    return scope["type"] == "http" and is_api_path(scope["path"]) and not scope["path"].startswith(EXEMPT_PATHS)


class RateLimitMiddleware:
    """Apply the tenant's limit (its own, else its plan's) to /v2 (anonymous callers: per address, starter limits)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_limited(scope):
            principal = principal_of(scope)
            if principal is not None:
                # The plan is the tenant's: every key and user of a tenant share its allowance.
                await spend(scope, f"tenant:{principal.tenant_id}", principal.plan, principal.rate_limit)
            else:
                await spend(scope, f"ip:{client_ip(scope)}", ANONYMOUS_PLAN)
        await self.app(scope, receive, send)
