"""Per-plan API rate limits, shared by every process through PostgreSQL.

A token bucket per caller (tenant + credential; client address before authentication): it holds
up to twice the plan's per-minute limit (the burst allowance) and refills at the plan's rate. One
`INSERT … ON CONFLICT` per request updates it atomically.
"""

from __future__ import annotations

import math
import time

from app.db import fetch
from app.web.context import ASGIApp, Message, Receive, Scope, Send, principal_of
from app.web.errors import RateLimited, is_api_path

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


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class RateLimitMiddleware:
    """Apply the caller's plan limit to /v2 and add the rate-limit headers to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]) or scope["path"].startswith(EXEMPT_PATHS):
            await self.app(scope, receive, send)
            return
        principal = principal_of(scope)
        if principal is not None:
            plan, bucket = principal.plan, f"t{principal.tenant_id}:{principal.credential_id}"
        else:
            plan, bucket = "starter", f"ip:{_client_ip(scope)}"
        limit = PLAN_LIMITS.get(plan, PLAN_LIMITS["starter"])
        allowed, tokens = await take_token(bucket, limit)
        rate = limit / 60.0
        remaining = max(0, min(limit, math.floor(tokens)))
        # Seconds until a request is possible again (when out), or until the minute's allowance is back.
        wait = math.ceil((1 - tokens) / rate) if tokens < 1 else math.ceil(max(0.0, limit - tokens) / rate)
        headers = [
            (b"x-ratelimit-limit", str(limit).encode()),
            (b"x-ratelimit-remaining", str(remaining).encode()),
            (b"x-ratelimit-reset", str(int(time.time()) + wait).encode()),
            (b"ratelimit-policy", f'"{plan}";q={limit};w=60'.encode()),
            (b"ratelimit", f'"{plan}";r={remaining};t={wait}'.encode()),
        ]
        if not allowed:
            retry = max(1, wait)
            raise RateLimited(
                f"Rate limit of {limit} requests/minute exceeded",
                retry_after=retry,
                headers={k.decode(): v.decode() for k, v in headers} | {"Retry-After": str(retry)},
            )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers") or []) + headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
