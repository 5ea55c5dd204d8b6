"""Per-request context kept in the ASGI scope: request id, start time, authenticated principal."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from app.core.principal import Principal
from app.db import TenantScope, own_events

# Plain ASGI types for our middlewares (Litestar's TypedDict unions are too narrow to build messages with).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,100}$")


def header(scope: Scope, name: str) -> str | None:
    """One request header (lower-case `name`), decoded as latin-1 like ASGI servers do."""
    wanted = name.encode()
    for key, value in scope.get("headers") or []:
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


def new_request_id() -> str:
    """A request id in the reference guide's `req_…` style."""
    return "req_" + secrets.token_hex(8)


def request_id_of(scope: MutableMapping[str, Any]) -> str:
    """The id of the current request (assigned on entry)."""
    state = scope.setdefault("state", {})
    rid = state.get("request_id")
    if rid is None:
        rid = state["request_id"] = new_request_id()
    return str(rid)


def principal_of(scope: MutableMapping[str, Any]) -> Principal | None:
    """The authenticated caller of this request, if any."""
    principal = scope.setdefault("state", {}).get("principal")
    return principal if isinstance(principal, Principal) else None


def scope_for(principal: Principal, scope: MutableMapping[str, Any]) -> TenantScope:
    """The service-layer tenant scope for the caller of this request."""
    headers = dict(scope.get("headers") or [])
    client = scope.get("client")
    return TenantScope(
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        role=principal.role,
        actor=principal.label,
        ip=client[0] if client else "",
        user_agent=headers.get(b"user-agent", b"").decode("latin-1")[:300],
    )


def with_request_context(inner: ASGIApp) -> ASGIApp:
    """Wrap the app so every request, even one that matches no route, has an id and a start time."""

    async def handler(
        scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        if scope["type"] in ("http", "websocket"):
            state = scope.setdefault("state", {})
            incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
            state["request_id"] = incoming if _REQUEST_ID.match(incoming) else new_request_id()
            state["started_at"] = time.perf_counter()
            own_events.set([])
        await inner(scope, receive, send)

    return handler


# What a browser may load and run on Atrium's pages: only Atrium's own files, no inline script or style,
# never inside another site's frame. The API docs page (Swagger UI) starts itself with one inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
BROWSER_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)


def _https(scope: MutableMapping[str, Any]) -> bool:
    """Whether the browser reached Atrium over HTTPS (directly, or through BASE_URL's proxy)."""
    app = scope.get("app") or scope.get("litestar_app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return scope.get("scheme") == "https" or bool(settings and str(settings.base_url).startswith("https://"))


async def stamp_response_headers(message: MutableMapping[str, Any], scope: MutableMapping[str, Any]) -> None:
    """before_send hook: X-Request-ID and X-Process-Time on every response, and the headers a browser expects
    (CSP, nosniff, referrer policy, no framing, HSTS under HTTPS)."""
    if message.get("type") != "http.response.start":
        return
    state = scope.get("state", {})
    started = state.get("started_at")
    headers = list(message.get("headers") or [])
    headers.append((b"x-request-id", request_id_of(scope).encode()))
    if started is not None:
        headers.append((b"x-process-time", f"{(time.perf_counter() - started) * 1000:.2f}ms".encode()))
    present = {k.lower() for k, _ in headers}
    # A signed-in person's pages are never kept by the browser or a proxy: Back after logging out shows nothing.
    if state.get("principal") is not None and b"cache-control" not in present and not str(scope.get("path", "")).startswith("/static/"):
        headers.append((b"cache-control", b"no-store"))
    for name, value in (state.get("ratelimit_headers") or {}).items():
        if name.lower().encode() not in present:
            headers.append((name.lower().encode(), value.encode()))
    docs = str(scope.get("path", "")).startswith("/v2/schema")
    policy = DOCS_CONTENT_SECURITY_POLICY if docs else CONTENT_SECURITY_POLICY
    for name, value in (*BROWSER_HEADERS, (b"content-security-policy", policy.encode())):
        if name not in present:
            headers.append((name, value))
    if _https(scope):
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    message["headers"] = headers
