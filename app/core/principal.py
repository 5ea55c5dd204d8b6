"""Who is calling: resolved once per request by authentication, read by guards and scopes."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_jti: str | None = None
    time_zone: str = "UTC"  # where a person's screens show times: their own zone, else the tenant's

    @property
    def can_write(self) -> bool:
        """Whether unsafe methods are allowed (read-only keys and read-scoped tokens are refused)."""
        return "write" in self.scopes

    @property
    def label(self) -> str:
        """Who this is, for the audit log."""
        return self.email or f"{self.kind}:{self.credential_id}"
