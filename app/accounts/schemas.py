"""Request and response types of authentication, users, API keys and OAuth clients."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import UNSET, UnsetType

from app.core.policy import Role
from app.core.schemas import Email, Name, Password, RequestBody, ResponseBody, VisibleName


class Tenant(ResponseBody):
    """A tenant as its own members see it."""

    id: int
    name: str
    slug: str
    plan: str
    created_at: datetime
    time_zone: str = "UTC"


class User(ResponseBody):
    """A user of a tenant."""

    id: int
    tenant_id: int
    email: str
    full_name: str
    role: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None = None
    time_zone: str | None = None  # their own zone for screens; None: the tenant's
    locale: str | None = None  # their language for dates and numbers on screens; None: their browser's
    team_id: int = 0  # the tenant, as the Real Estate OS guide names it

    def __post_init__(self) -> None:
        self.team_id = self.tenant_id


class InvitationCreate(RequestBody):
    """Invite a person to the tenant: they choose their password (or use their Atrium account's) when they accept."""

    email: Email
    full_name: Name | UnsetType = UNSET  # how the team sees them until they give their own
    role: Role = "agent"


class Invitation(ResponseBody):
    """An invitation of an address to the tenant, pending until the person accepts it."""

    id: int
    email: str
    full_name: str
    role: str
    created_at: datetime
    expires_at: datetime
    invited_by: int | None = None
    accepted_at: datetime | None = None


class InvitationCreated(Invitation, kw_only=True):
    """A new invitation: `accept_url` is the link to pass on when no mail server is configured (`emailed` false);
    with one, the link was e-mailed to the address and is shown to nobody."""

    accept_url: str | None
    emailed: bool


class InvitationOpened(ResponseBody):
    """What the accept page shows of a pending invitation."""

    id: int
    tenant_id: int
    tenant_name: str
    email: str
    full_name: str
    role: str
    expires_at: datetime
    invited_by_name: str


class AcceptInvitationRequest(RequestBody):
    """Accept an invitation: `password` is the password of the address's Atrium account, or, for an address that has
    none, the new account's password (then `full_name` is its name)."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    password: Password
    full_name: Name | UnsetType = UNSET


class Workspace(ResponseBody):
    """A tenant the caller's account is an active member of."""

    tenant_id: int
    name: str
    user_id: int
    role: str


class UserUpdate(RequestBody):
    """Change a user; fields left out are unchanged."""

    full_name: Name | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET


class RegisterRequest(RequestBody):
    """Create a tenant and its first admin. Accepts the field names of the reference guides."""

    one_of_required = ("tenant_name", "tenantName", "team_name", "companyName")

    email: Email
    password: Password
    full_name: str | UnsetType = UNSET
    name: str | UnsetType = UNSET
    tenant_name: VisibleName | UnsetType = UNSET
    tenantName: VisibleName | UnsetType = UNSET  # noqa: N815 - reference guide's spelling
    team_name: VisibleName | UnsetType = UNSET
    companyName: VisibleName | UnsetType = UNSET  # noqa: N815 - reference guide's spelling


class LoginRequest(RequestBody):
    """E-mail and password (`username` is accepted as an alias of `email`)."""

    one_of_required = ("email", "username")

    password: str
    email: Annotated[str, msgspec.Meta(min_length=1)] | UnsetType = UNSET
    username: Annotated[str, msgspec.Meta(min_length=1)] | UnsetType = UNSET


class RefreshRequest(RequestBody):
    """A refresh token, as `refresh_token` or the reference guide's `refreshToken`."""

    one_of_required = ("refresh_token", "refreshToken")

    refresh_token: Annotated[str, msgspec.Meta(min_length=1)] | UnsetType = UNSET
    refreshToken: Annotated[str, msgspec.Meta(min_length=1)] | UnsetType = UNSET  # noqa: N815


class LogoutRequest(RequestBody):
    """Optionally the refresh token to revoke along with the access token."""

    refresh_token: str | UnsetType = UNSET
    refreshToken: str | UnsetType = UNSET  # noqa: N815


class ClientCredentials(RequestBody):
    """The form of the client-credentials grant (RFC 6749 §4.4); the client may authenticate with HTTP Basic instead."""

    # Another grant type is the RFC's 400 `unsupported_grant_type`, not a validation error, so only the schema lists it.
    grant_type: Annotated[str, msgspec.Meta(extra_json_schema={"extra": {"enum": ["client_credentials"]}})]
    client_id: str | UnsetType = UNSET
    client_secret: str | UnsetType = UNSET
    scope: str | UnsetType = UNSET


class TokenPair(ResponseBody):
    """Tokens for a user, in both the snake_case and the camelCase spellings of the reference guides."""

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    token: str
    refreshToken: str  # noqa: N815
    expiresIn: int  # noqa: N815
    tenantId: int  # noqa: N815
    userId: int  # noqa: N815
    user: User
    tenant: Tenant
    team: Team  # the tenant as the Real Estate OS guide's register answer shows it


class Team(ResponseBody):
    """The tenant in the Real Estate OS guide's words."""

    id: int
    name: str


class OAuthToken(ResponseBody):
    """RFC 6749 client-credentials token response."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str


class ApiKey(ResponseBody):
    """An API key without its secret."""

    id: int
    name: str
    prefix: str
    mode: str
    permission: str
    scopes: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    created_by: int | None = None


class ApiKeyCreated(ApiKey, kw_only=True):
    """A new key: `key` is shown this once and cannot be recovered."""

    key: str


def _resource_names() -> list[str]:
    from app.domains import api_resources  # the domains' controllers, this one's included

    return ["*", *sorted(api_resources())]


def _scope_names() -> list[str]:
    from app.core.scopes import valid_scopes
    from app.domains import api_resources

    return [*valid_scopes(api_resources()), "read", "write"]  # the first release's words are still accepted


class ApiKeyCreate(RequestBody):
    """Create a key: read-only keys may only GET; `resources` limits it to some API resources (all when omitted)."""

    allowed_values: ClassVar[dict[str, Callable[[], list[str]]]] = {"resources": _resource_names}

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "API key"
    permission: Literal["read", "write"] = "read"
    mode: Literal["live", "test"] = "live"
    resources: Annotated[list[str], msgspec.Meta(min_length=1, max_length=50)] | UnsetType = UNSET


class OAuthClient(ResponseBody):
    """An OAuth client without its secret."""

    id: int
    name: str
    client_id: str
    scopes: str
    created_at: datetime
    revoked_at: datetime | None = None


class OAuthClientCreated(OAuthClient, kw_only=True):
    """A new client: `client_secret` is shown this once."""

    client_secret: str


class OAuthClientCreate(RequestBody):
    """Create a client-credentials client with the scopes it may request (`leads:read`, `*:write`, `*`, `read`, …)."""

    allowed_values: ClassVar[dict[str, Callable[[], list[str]]]] = {"scopes": _scope_names}

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]  # oauth_client.name is varchar(100)
    scopes: Annotated[list[str], msgspec.Meta(min_length=1, max_length=50)] = msgspec.field(default_factory=lambda: ["*:read"])
