"""Who is calling: resolved once per request by authentication, read by guards and scopes."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.scopes import Level, grants


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: a user (session or JWT) or a machine (API key, OAuth client)."""

    tenant_id: int
    plan: str
    kind: str  # session | jwt | api_key | oauth
    credential_id: str
    role: str  # a user's role, or "integration" for keys and OAuth clients
    user_id: int | None = None
    email: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)  # canonical (app.core.scopes): `leads:read`, `*:write`
    token_jti: str | None = None
    time_zone: str = "UTC"  # where a person's screens show times: their own zone, else the tenant's
    locale: str | None = None  # a person's chosen language for dates and numbers (None: their browser's)
    rate_limit: int | None = None  # the tenant's own API limit per minute (None: its plan's; 0: none)
    account_id: int | None = None  # a browser session's person (their login, across workspaces)
    tenant_name: str = ""  # a browser session's workspace, for the top bar

    def may(self, resource: str, level: Level) -> bool:
        """Whether this caller's scopes allow `level` access to the API resource `resource`."""
        return grants(self.scopes, resource, level)

    @property
    def label(self) -> str:
        """Who this is, for the audit log."""
        return self.email or f"{self.kind}:{self.credential_id}"
