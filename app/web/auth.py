"""Who may call a handler: the guard every controller uses, API and screens alike.

Authentication itself (credentials and session cookies → a `Principal`) is the accounts domain's
middleware; this module only reads the principal it left in the scope and checks it against the
domains' permissions (app.core.policy).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app.core.errors import AuthenticationError, PermissionDenied
from app.core.policy import Permission
from app.core.principal import Principal
from app.web.context import Scope, principal_of

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]
# Every guard `guard()` made: a handler behind one needs credentials (the OpenAPI contract says so).
_CREDENTIAL_GUARDS: set[Guard] = set()


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller, or 401 (the screens turn it into the login page)."""
    principal = principal_of(cast("Scope", connection.scope))
    if principal is None:
        raise AuthenticationError("Authentication required: send X-API-Key or Authorization: Bearer <token>")
    return principal


def guard(*permissions: Permission, write: bool | None = None) -> Guard:
    """Admit authenticated callers holding every one of `permissions` (none: any authenticated caller).

    Unsafe methods also need write access (read-only keys and read-scoped tokens are refused)
    unless `write=False`.
    """

    # A coroutine: Litestar runs synchronous guards in a worker thread, a thread hop on every request.
    async def check(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = current_principal(connection)
        needs_write = write if write is not None else connection.scope.get("method", "GET") in UNSAFE_METHODS
        if needs_write and not principal.can_write:
            raise PermissionDenied("These credentials are read-only")
        for permission in permissions:
            permission.require(principal)

    check.__name__ = "guard_" + ("_".join(p.name for p in permissions) or "authenticated")
    _CREDENTIAL_GUARDS.add(check)
    return check


def requires_credentials(handler: BaseRouteHandler) -> bool:
    """Whether a handler (or its controller) is behind `guard()`, so callers must authenticate."""
    return any(g in _CREDENTIAL_GUARDS for g in handler.resolve_guards())
