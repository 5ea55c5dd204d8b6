"""`Idempotency-Key` on POST: the first successful response is stored and replayed for 24 hours.

Same key with another body → 422; same key while the first request still runs → 409. Keys are
scoped per tenant, and a record answers only the credential that made it (the credential is part
of the request's fingerprint), so a replay never hands one caller what another was allowed to see.
Answers of 400 and above are not stored (a retry runs again). Answers marked `Cache-Control:
no-store` (a new API key, a client secret) are never written down: a replay of one answers 409 with
the created resource's Location. Records live in PostgreSQL so every process sees them.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from litestar.openapi.spec import OpenAPIType, Parameter, Schema

from app.core.errors import Conflict, PayloadTooLarge, ValidationFailed
from app.db import fetch, tenant_transaction
from app.web.context import ASGIApp, Message, Receive, Scope, Send, header, principal_of
from app.web.errors import is_api_path

TTL = "24 hours"
# A record still "running" after this long belongs to a process that died; it may be taken over.
STALE_RUNNING = "5 minutes"
MAX_BODY = 5 * 1024 * 1024
# Headers of the first answer that a replay repeats (never cookies, rate-limit state or request ids).
REPLAYED_HEADERS = frozenset({b"content-type", b"location", b"etag", b"cache-control"})
# 1-255 visible ASCII characters, spaces inside: the same rule here and in the schema. White space around a header's value
# is not part of it (RFC 9110 §5.5; the HTTP server strips it before the middleware sees the key), so the schema allows it.
KEY_PATTERN = "^[ \t]*[!-~](?:[ -~]{0,253}[!-~])?[ \t]*$"
_KEY = re.compile(KEY_PATTERN)
IDEMPOTENCY_KEY = Parameter(
    name="Idempotency-Key",
    param_in="header",  # type: ignore[arg-type]
    required=False,
    schema=Schema(type=OpenAPIType.STRING, pattern=KEY_PATTERN),  # the pattern bounds the length
    description="A unique key for this request: a retry with the same key and body replays the first answer (24 h)",
)


def honours_idempotency_key(method: str, path: str) -> bool:
    """Whether an authenticated request may carry an `Idempotency-Key` (the middleware and the OpenAPI document ask)."""
    return method == "POST" and is_api_path(path)


def request_fingerprint(credential_id: str, path: str, query: bytes, body: bytes) -> str:
    """What makes two requests "the same": the caller's credential, the target and the body."""
    return hashlib.sha256(b"\n".join([credential_id.encode(), path.encode(), query, body])).hexdigest()


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(f"Request body over {MAX_BODY // (1024 * 1024)} MiB")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class IdempotencyMiddleware:
    """Store and replay POST responses that carry an Idempotency-Key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = header(scope, "idempotency-key") if scope["type"] == "http" else None
        principal = principal_of(scope) if key is not None else None
        if key is None or not honours_idempotency_key(scope["method"], scope["path"]) or principal is None:
            await self.app(scope, receive, send)
            return
        if not _KEY.fullmatch(key):
            raise ValidationFailed(
                "Idempotency-Key must be 1-255 visible ASCII characters",
                details={"field": "Idempotency-Key", "expected": "1-255 visible ASCII characters"},
            )
        body = await _read_body(receive)
        fingerprint = request_fingerprint(principal.credential_id, scope["path"], scope.get("query_string", b""), body)
        tenant_id = principal.tenant_id
        async with tenant_transaction(tenant_id):
            await fetch(
                f"""DELETE FROM idempotency_record WHERE tenant_id = $1 AND key = $2
                    AND (expires_at < now() OR (status = 'running' AND created_at < now() - interval '{STALE_RUNNING}'))""",
                tenant_id,
                key,
            )
            inserted = await fetch(
                f"""INSERT INTO idempotency_record (tenant_id, key, request_hash, status, response_headers, created_at, expires_at)
                    VALUES ($1, $2, $3, 'running', '[]', now(), now() + interval '{TTL}')
                    ON CONFLICT (tenant_id, key) DO NOTHING RETURNING id""",
                tenant_id,
                key,
                fingerprint,
            )
            existing = None
            if not inserted:
                rows = await fetch("SELECT * FROM idempotency_record WHERE tenant_id = $1 AND key = $2", tenant_id, key)
                existing = rows[0] if rows else None
        if existing is not None:
            await self._replay(existing, fingerprint, send)
            return
        await self._run_and_store(scope, body, send, tenant_id, int(inserted[0]["id"]))

    async def _replay(self, record: dict[str, Any], fingerprint: str, send: Send) -> None:
        if record["request_hash"] != fingerprint:
            raise ValidationFailed(
                "Idempotency-Key was already used with a different request",
                details={"field": "Idempotency-Key", "expected": "a new key, or the identical request to retry"},
            )
        stored = record["response_headers"]
        headers = json.loads(stored) if isinstance(stored, str) else stored
        if record["status"] == "withheld":
            location = dict(headers).get("location")
            raise Conflict(
                "A request with this Idempotency-Key already succeeded; its answer held a secret that is shown only once",
                details={"location": location} if location else {},
            )
        if record["status"] != "complete":
            raise Conflict("A request with this Idempotency-Key is still being processed; retry later")
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers] + [(b"idempotent-replayed", b"true")]
        await send({"type": "http.response.start", "status": record["response_status"], "headers": raw})
        await send({"type": "http.response.body", "body": bytes(record["response_body"] or b""), "more_body": False})

    async def _run_and_store(self, scope: Scope, body: bytes, send: Send, tenant_id: int, record_id: int) -> None:
        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers") or [])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            await self._forget(tenant_id, record_id)
            raise
        if status >= 400:
            await self._forget(tenant_id, record_id)
            return
        kept = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers if k.lower() in REPLAYED_HEADERS]
        withheld = any(k.lower() == b"cache-control" and b"no-store" in v.lower() for k, v in headers)
        # Only the record this request inserted is completed: one taken over meanwhile has another id.
        async with tenant_transaction(tenant_id):
            await fetch(
                """UPDATE idempotency_record SET status = $3, response_status = $4, response_headers = $5::jsonb, response_body = $6
                   WHERE tenant_id = $1 AND id = $2 AND status = 'running'""",
                tenant_id,
                record_id,
                "withheld" if withheld else "complete",
                status,
                json.dumps(kept),
                None if withheld else b"".join(chunks),
            )

    async def _forget(self, tenant_id: int, record_id: int) -> None:
        async with tenant_transaction(tenant_id):
            await fetch("DELETE FROM idempotency_record WHERE tenant_id = $1 AND id = $2", tenant_id, record_id)
