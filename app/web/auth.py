"""Who may call a handler: the guard every controller uses, API and screens alike.

Authentication itself (credentials and session cookies → a `Principal`) is the accounts domain's
middleware; this module only reads the principal it left in the scope and checks it against the
domains' permissions (app.core.policy).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, cast

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app.core.errors import AuthenticationError, PermissionDenied
from app.core.policy import Permission
from app.core.principal import Principal
from app.core.scopes import ANY, render, resource_of
from app.web.context import Scope, principal_of

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]
# Every guard `guard()` made, with its `write` override: a handler behind one needs credentials and a scope.
_CREDENTIAL_GUARDS: dict[Guard, bool | None] = {}


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller, or 401 (the screens turn it into the login page)."""
    principal = principal_of(cast("Scope", connection.scope))
    if principal is None:
        raise AuthenticationError("Authentication required: send X-API-Key or Authorization: Bearer <token>")
    return principal


def guard(*permissions: Permission, write: bool | None = None) -> Guard:
    """Admit authenticated callers holding every one of `permissions` (none: any authenticated caller).

    The caller's scopes must also cover the handler's API resource (`resource_opt(...)` on its
    controller): `<resource>:write` for unsafe methods, `<resource>:read` otherwise; `write=True` or
    `write=False` overrides the method. A handler naming no resource needs `*:read`/`*:write`.
    """

    # A coroutine: Litestar runs synchronous guards in a worker thread, a thread hop on every request.
    async def check(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        principal = current_principal(connection)
        needs_write = write if write is not None else connection.scope.get("method", "GET") in UNSAFE_METHODS
        require_scope(principal, resource_of(handler.opt), "write" if needs_write else "read")
        for permission in permissions:
            permission.require(principal)

    check.__name__ = "guard_" + ("_".join(p.name for p in permissions) or "authenticated")
    check.permissions = permissions  # type: ignore[attr-defined] # read by the test that every API resource is named
    _CREDENTIAL_GUARDS[check] = write
    return check


def required_scope(handler: BaseRouteHandler, method: str) -> str | None:
    """The scope `guard()` demands for `method` on `handler` (`leads:write`), or None for a public operation.

    The OpenAPI document asks this, so its security requirements are the guards' own rules.
    """
    overrides = [_CREDENTIAL_GUARDS[g] for g in handler.resolve_guards() if g in _CREDENTIAL_GUARDS]
    if not overrides:
        return None
    needs_write = any(method in UNSAFE_METHODS if write is None else write for write in overrides)
    return f"{resource_of(handler.opt)}:{'write' if needs_write else 'read'}"


def require_scope(principal: Principal, resource: str, level: Literal["read", "write"]) -> None:
    """403 naming the missing scope unless `principal` may `level` the API resource `resource`."""
    if principal.may(resource, level):
        return
    needed = f"{resource}:{level}"
    if level == "write" and principal.may(resource, "read"):
        what = "These credentials are read-only" + ("" if resource == ANY else f" for {resource}")
    else:
        what = "These credentials may not use " + ("every resource" if resource == ANY else resource)
    raise PermissionDenied(
        f"{what}: this needs the scope {needed}",
        details={"required_scope": needed, "granted_scopes": render(principal.scopes)},
    )
