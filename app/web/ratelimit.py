"""Per-plan API rate limits, shared by every process through PostgreSQL.

A token bucket per tenant (client address before authentication, and for failed credentials): it holds
up to twice the plan's per-minute limit (the burst allowance) and refills at the plan's rate. One
`INSERT … ON CONFLICT` per request updates it atomically.
"""

from __future__ import annotations

import math
import time

from app.core.errors import RateLimited
from app.db import fetch
from app.web.context import ASGIApp, Receive, Scope, Send, principal_of
from app.web.errors import is_api_path

PLAN_LIMITS = {"starter": 60, "professional": 100, "enterprise": 500}
BURST_FACTOR = 2
EXEMPT_PATHS = ("/v2/health", "/v2/schema", "/v2/docs")

_TAKE = """
INSERT INTO rate_limit_bucket AS b (bucket, tokens, allowed, updated_at) VALUES ($1, $2 - 1, true, clock_timestamp())
ON CONFLICT (bucket) DO UPDATE SET
  allowed = LEAST($2, b.tokens + EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at) * $3) >= 1,
  tokens = LEAST($2, b.tokens + EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at) * $3)
           - CASE WHEN LEAST($2, b.tokens + EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at) * $3) >= 1 THEN 1 ELSE 0 END,
  updated_at = clock_timestamp()
RETURNING tokens, allowed
"""


async def take_token(bucket: str, per_minute: int) -> tuple[bool, float]:
    """Spend one request from `bucket`; returns (allowed, tokens left)."""
    rows = await fetch(_TAKE, bucket, float(per_minute * BURST_FACTOR), per_minute / 60.0)
    return bool(rows[0]["allowed"]), float(rows[0]["tokens"])


def client_ip(scope: Scope) -> str:
    """The caller's address (uvicorn resolves trusted proxy headers)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def spend(scope: Scope, bucket: str, plan: str) -> None:
    """Take one request from `bucket` under `plan`; keep the headers for the answer; 429 when empty."""
    limit = PLAN_LIMITS.get(plan, PLAN_LIMITS["starter"])
    allowed, tokens = await take_token(bucket, limit)
    rate = limit / 60.0
    remaining = max(0, min(limit, math.floor(tokens)))
    # Seconds until a request is possible again (when out), or until the minute's allowance is back.
    wait = math.ceil((1 - tokens) / rate) if tokens < 1 else math.ceil(max(0.0, limit - tokens) / rate)
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(int(time.time()) + wait),
        "RateLimit-Policy": f'"{plan}";q={limit};w=60',
        "RateLimit": f'"{plan}";r={remaining};t={wait}',
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
    """Apply the tenant's plan limit to /v2 (anonymous callers: per address, starter limits)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_limited(scope):
            principal = principal_of(scope)
            if principal is not None:
                # The plan is the tenant's: every key and user of a tenant share its allowance.
                await spend(scope, f"tenant:{principal.tenant_id}", principal.plan)
            else:
                await spend(scope, f"ip:{client_ip(scope)}", "starter")
        await self.app(scope, receive, send)
