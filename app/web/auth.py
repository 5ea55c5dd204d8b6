"""Who is calling: API credentials for /v2, the session cookie for the browser UI, and role guards.

The JSON API never reads the session cookie and the UI never reads API keys or bearer tokens, so
a browser's ambient cookie cannot be used against the API (no CSRF surface there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app.accounts import service as accounts
from app.settings import Settings
from app.web.context import ASGIApp, Principal, Receive, Scope, Send, header, principal_of
from app.web.errors import AuthenticationError, PermissionDenied, is_api_path
from app.web.ratelimit import client_ip, is_limited, spend

SESSION_COOKIE = "atrium_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def settings_of(scope: Scope) -> Settings:
    """The application settings, from the ASGI scope."""
    settings: Settings = scope["litestar_app"].state.settings
    return settings


class AuthenticationMiddleware:
    """Resolve the caller once per request and keep it in `scope["state"]["principal"]`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            if is_api_path(scope["path"]):
                try:
                    state["principal"] = await self._api_principal(scope)
                except AuthenticationError:
                    # Guessing credentials costs the guesser's address (and an argon2 check each time).
                    if is_limited(scope):
                        await spend(scope, f"ip:{client_ip(scope)}", "starter")
                    raise
            else:
                state["principal"] = await self._session_principal(scope)
        await self.app(scope, receive, send)

    async def _api_principal(self, scope: Scope) -> Principal | None:
        api_key = header(scope, "x-api-key")
        authorization = header(scope, "authorization") or ""
        principal: Principal | None
        if api_key:
            principal = await accounts.principal_for_api_key(api_key.strip())
            if principal is None:
                raise AuthenticationError("API key is invalid or revoked")
        elif authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationError("Authorization header must be 'Bearer <token>'")
            principal = await accounts.principal_for_access_token(settings_of(scope), token.strip())
            if principal is None:
                raise AuthenticationError("Access token is invalid, expired or revoked")
        else:
            return None
        tenant_header = header(scope, "x-tenant-id")
        if tenant_header is not None and tenant_header.strip() != str(principal.tenant_id):
            raise PermissionDenied("X-Tenant-ID does not match the tenant of these credentials")
        return principal

    async def _session_principal(self, scope: Scope) -> Principal | None:
        token = _cookie(scope, SESSION_COOKIE)
        if not token or scope["path"].startswith("/static/"):
            return None
        return await accounts.principal_for_session(token)


def _cookie(scope: Scope, name: str) -> str | None:
    raw = header(scope, "cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def session_token_of(scope: Scope) -> str | None:
    """The raw session cookie of this request, if any."""
    return _cookie(scope, SESSION_COOKIE)


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller, or 401."""
    principal = principal_of(cast("Scope", connection.scope))
    if principal is None:
        raise AuthenticationError("Authentication required: send X-API-Key or Authorization: Bearer <token>")
    return principal


def requires(*roles: str, write: bool | None = None) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A guard admitting authenticated callers with one of `roles` ("integration" = keys and OAuth clients).

    Unsafe methods also need write access (read-only keys and read-scoped tokens are refused).
    """

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = current_principal(connection)
        needs_write = write if write is not None else connection.scope.get("method", "GET") in UNSAFE_METHODS
        if needs_write and not principal.can_write:
            raise PermissionDenied("These credentials are read-only")
        if roles and principal.role not in roles:
            raise PermissionDenied(f"This requires one of the roles: {', '.join(roles)}")

    guard.__name__ = f"requires_{'_'.join(roles) or 'auth'}"
    return guard


ANY_USER = ("admin", "manager", "agent", "support", "finance")
