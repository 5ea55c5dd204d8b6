"""Authentication: API credentials for /v2, the session cookie for the browser UI.

The JSON API never reads the session cookie and the UI never reads API keys or bearer tokens, so
a browser's ambient cookie cannot be used against the API (no CSRF surface there).
"""

from __future__ import annotations

import hashlib
import hmac

from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash

from app.accounts import service as accounts
from app.accounts.security import API_KEY_PREFIXES
from app.core.errors import AuthenticationError, PermissionDenied
from app.core.principal import Principal
from app.settings import Settings
from app.web.context import ASGIApp, Receive, Scope, Send, header
from app.web.errors import is_api_path
from app.web.ratelimit import client_ip, is_limited, spend

# The OAuth token endpoint, where `Authorization: Basic` carries an OAuth client's id and secret (RFC 6749 §2.3.1).
TOKEN_ENDPOINT = "/v2/oauth/token"


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
            if scheme.lower() == "basic" and scope["path"].rstrip("/") == TOKEN_ENDPOINT:
                return None  # a client authenticating to get a token: the token endpoint checks it
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationError("Authorization header must be 'Bearer <token>'")
            if token.strip().startswith(API_KEY_PREFIXES):  # an API key sent as a bearer token (the enterprise guide)
                principal = await accounts.principal_for_api_key(token.strip())
                if principal is None:
                    raise AuthenticationError("API key is invalid or revoked")
            else:
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
        token = session_token_of(scope)
        if not token or scope["path"].startswith("/static/"):
            return None
        # Bound even when the session has ended: a stale page's own token still passes the CSRF check, so
        # its request reaches the guard and is sent to log in (or, for Log out, simply logs out).
        bind_csrf_to_session(scope, token)
        return await accounts.principal_for_session(token)


def _cookies(scope: Scope) -> dict[str, str]:
    raw = header(scope, "cookie") or ""
    pairs = (part.strip().partition("=") for part in raw.split(";") if part.strip())
    return {key: value for key, _, value in pairs}


def session_token_of(scope: Scope) -> str | None:
    """The raw session cookie of this request, if any."""
    return _cookies(scope).get(settings_of(scope).session_cookie)


def session_csrf_token(secret: str, session_token: str) -> str:
    """The CSRF token of a session: derived from it, signed the way Litestar's CSRF check expects."""
    base = hmac.new(secret.encode(), f"csrf:{session_token}".encode(), hashlib.sha256).hexdigest()[:CSRF_SECRET_LENGTH]
    return base + generate_csrf_hash(token=base, secret=secret)


def bind_csrf_to_session(scope: Scope, session_token: str) -> None:
    """While a person is signed in, the CSRF check compares the submitted token with their session's own
    (not with whatever CSRF cookie the browser holds): a token planted with a cookie of the attacker's
    choosing never matches a victim's session."""
    settings = settings_of(scope)
    cookies = {**_cookies(scope), settings.csrf_cookie: session_csrf_token(settings.secret_key, session_token)}
    rebuilt = "; ".join(f"{key}={value}" for key, value in cookies.items()).encode("latin-1")
    scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"cookie"] + [(b"cookie", rebuilt)]
