"""JSON API: authentication, OAuth client credentials, users, API keys and OAuth clients."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote_plus

from litestar import Controller, Request, delete, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, Parameter
from msgspec import UNSET

from app.accounts import policy, schemas
from app.accounts import service as accounts
from app.accounts.authentication import TOKEN_ENDPOINT
from app.core.errors import AuthenticationError, BadRequest, ValidationFailed
from app.core.pagination import SORTS_OPT, ListQuery, Page
from app.core.schemas import ErrorEnvelope
from app.core.scopes import resource_opt
from app.db import TenantScope
from app.events.service import Subject, audit
from app.settings import Settings
from app.web.auth import current_principal, guard
from app.web.etag import IfMatch
from app.web.json import ApiResponse


def _client(request: Request[Any, Any, Any]) -> tuple[str, str]:
    return (request.client.host if request.client else ""), request.headers.get("user-agent", "")[:300]


class AuthController(Controller):
    """Register a tenant, log in, refresh and revoke tokens."""

    path = "/v2/auth"
    tags = ["Authentication"]

    @post("/register", operation_id="register", summary="Create a tenant and its first admin", status_code=201)
    async def register(
        self, request: Request[Any, Any, Any], data: schemas.RegisterRequest, settings: Settings
    ) -> ApiResponse[schemas.TokenPair]:
        """Create a tenant with `tenant_name` (or `tenantName`/`team_name`) and its admin; returns tokens."""
        ip, ua = _client(request)
        _, user = await accounts.register_tenant(data, ip=ip, user_agent=ua)
        tokens = await accounts.issue_user_tokens(settings, user.id)
        return ApiResponse(tokens, status_code=201, headers={"Location": "/v2/auth/me"})

    @post("/login", operation_id="login", summary="Exchange e-mail and password for tokens", status_code=200)
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: schemas.LoginRequest,
        settings: Settings,
        tenant_id: Annotated[
            int | None,
            Parameter(header="X-Tenant-ID", description="The workspace to enter, for an account that belongs to several"),
        ] = None,
    ) -> schemas.TokenPair:
        """Unknown e-mail and wrong password get the same 401; repeated failures are throttled (429).

        The tokens are for one workspace: the account's only one, or the one `X-Tenant-ID` names. An account in
        several workspaces that names none gets 400 listing its workspaces (`details.tenants`); naming one it is not
        an active member of gets 403."""
        email = data.email if data.email is not UNSET else data.username
        if email is UNSET or not email:
            raise ValidationFailed(
                "Invalid email: This field is required", details={"field": "email", "expected": "This field is required"}
            )
        ip, ua = _client(request)
        account = await accounts.authenticate_password(email, data.password, ip)
        workspace = await accounts.login_membership(account, tenant_id)
        await accounts.record_login(workspace)
        actor = TenantScope(
            tenant_id=workspace.tenant_id, user_id=workspace.user_id, role=workspace.role, actor=account["email"], ip=ip, user_agent=ua
        )
        await audit(actor, Subject("user", workspace.user_id), "auth.login", {"via": "api"})
        return await accounts.issue_user_tokens(settings, workspace.user_id)

    @post(
        "/accept-invitation",
        operation_id="acceptInvitation",
        summary="Join a workspace with an invitation's token",
        status_code=200,
        responses={404: ResponseSpec(ErrorEnvelope, description="RESOURCE_NOT_FOUND: the link was used, withdrawn or has expired")},
    )
    async def accept_invitation(
        self, request: Request[Any, Any, Any], data: schemas.AcceptInvitationRequest, settings: Settings
    ) -> schemas.TokenPair:
        """`token` is the last part of the invitation's link. For an address with an Atrium account, `password` is its
        password (checked and throttled like a login); otherwise it becomes the new account's. Returns tokens for the
        workspace joined; 404 for a link used, withdrawn or expired."""
        ip, ua = _client(request)
        full_name = data.full_name if data.full_name is not UNSET else None
        workspace = await accounts.accept_invitation(data.token, data.password, full_name, ip=ip, user_agent=ua)
        return await accounts.issue_user_tokens(settings, workspace.user_id)

    @get(
        "/workspaces", operation_id="listWorkspaces", summary="The workspaces of the caller's account", guards=[guard(policy.SELF_SERVICE)]
    )
    async def workspaces(self, request: Request[Any, Any, Any]) -> list[schemas.Workspace]:
        """Every workspace (tenant) the person behind the token is an active member of: log in with its id in
        `X-Tenant-ID` to work there."""
        principal = current_principal(request)
        assert principal.user_id is not None
        return await accounts.workspaces_of_member(principal.tenant_id, principal.user_id)

    @post("/refresh", operation_id="refreshToken", summary="Rotate a refresh token", status_code=200)
    async def refresh(self, data: schemas.RefreshRequest, settings: Settings) -> schemas.TokenPair:
        """Returns a new token pair; the refresh token sent is revoked and cannot be reused."""
        token = data.refresh_token if data.refresh_token is not UNSET else data.refreshToken
        if token is UNSET or not token:
            raise ValidationFailed(
                "Invalid refresh_token: This field is required", details={"field": "refresh_token", "expected": "This field is required"}
            )
        return await accounts.refresh_tokens(settings, token)

    @get("/me", operation_id="getCurrentUser", summary="The authenticated user", guards=[guard(policy.SELF_SERVICE)])
    async def me(self, tenant: TenantScope) -> schemas.User:
        """The user behind the bearer token, with `tenant_id` and `role`."""
        assert tenant.user_id is not None
        return await accounts.get_user(tenant, tenant.user_id)

    @post(
        "/logout",
        operation_id="logout",
        summary="Revoke the current tokens",
        status_code=204,
        guards=[guard(policy.SELF_SERVICE, write=False)],
    )
    async def logout(self, request: Request[Any, Any, Any], settings: Settings, data: schemas.LogoutRequest | None = None) -> None:
        """Revokes the access token used for this call and, when sent, the refresh token."""
        principal = current_principal(request)
        refresh = None
        if data is not None:
            value = data.refresh_token if data.refresh_token is not UNSET else data.refreshToken
            refresh = value if value is not UNSET else None
        await accounts.logout_tokens(settings, principal, refresh)


class OAuthController(Controller):
    """OAuth 2.0 client-credentials grant (RFC 6749 §4.4)."""

    path = TOKEN_ENDPOINT
    tags = ["Authentication"]

    @post("/", operation_id="oauthToken", summary="Client-credentials token", status_code=200)
    async def token(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        data: Annotated[schemas.ClientCredentials, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> schemas.OAuthToken:
        """Form-encoded `grant_type=client_credentials`, `client_id`, `client_secret` (or HTTP Basic), optional `scope`."""
        if data.grant_type != "client_credentials":
            raise BadRequest("Only grant_type=client_credentials is supported", details={"error": "unsupported_grant_type"})
        client_id = data.client_id if data.client_id is not UNSET else ""
        client_secret = data.client_secret if data.client_secret is not UNSET else ""
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise AuthenticationError("Malformed Basic credentials", details={"error": "invalid_client"}) from None
            # RFC 6749 §2.3.1: id and secret are form-encoded before they are joined with ':'.
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, client_secret = unquote_plus(basic_id), unquote_plus(basic_secret)
        if not client_id or not client_secret:
            raise AuthenticationError("client_id and client_secret are required", details={"error": "invalid_client"})
        return await accounts.client_credentials_token(settings, client_id, client_secret, data.scope if data.scope is not UNSET else None)


class UserController(Controller):
    """The tenant's team: admins create users, change roles, deactivate."""

    path = "/v2/users"
    opt = resource_opt("users")  # its scopes: users:read, users:write
    tags = ["Users"]

    @get("/", operation_id="listUsers", summary="List users", guards=[guard(policy.VIEW_TEAM)], opt={SORTS_OPT: accounts.USER_SORTS})
    async def list_users(
        self,
        tenant: TenantScope,
        list_query: ListQuery,
        is_active: Annotated[bool | None, Parameter(description="Only active (true) or deactivated (false) users")] = None,
    ) -> Page[schemas.User]:
        """Sortable by `created_at`, `email`, `full_name`, `role`."""
        return await accounts.list_users(tenant, list_query, active=is_active)

    @post("/", operation_id="createUser", summary="Invite a person", guards=[guard(policy.MANAGE_USERS)], status_code=201)
    async def create_user(self, tenant: TenantScope, data: schemas.InvitationCreate) -> ApiResponse[schemas.InvitationCreated]:
        """Adds a person by inviting the address: they join when they accept (`POST /v2/auth/accept-invitation` or the
        link's page). The answer is the same whether or not the address has an Atrium account; 409 only when it is
        already a member of this team."""
        invitation = await accounts.invite_user(tenant, data)
        return ApiResponse(
            invitation, status_code=201, headers={"Location": f"/v2/invitations/{invitation.id}", "Cache-Control": "no-store"}
        )

    @get("/{user_id:int}", operation_id="getUser", summary="Get a user", guards=[guard(policy.VIEW_TEAM)])
    async def get_user(self, tenant: TenantScope, user_id: Annotated[int, Parameter(description="User id")]) -> schemas.User:
        """404 for ids of other tenants."""
        return await accounts.get_user(tenant, user_id)

    @patch("/{user_id:int}", operation_id="updateUser", summary="Change a user", guards=[guard(policy.MANAGE_USERS)])
    async def update_user(
        self,
        tenant: TenantScope,
        user_id: Annotated[int, Parameter(description="User id")],
        data: schemas.UserUpdate,
        if_match: IfMatch = None,
    ) -> schemas.User:
        """Honours `If-Match` (412 when stale). Deactivating a user ends their sessions."""
        return await accounts.update_user(tenant, user_id, data, if_match=if_match)


class InvitationController(Controller):
    """Invitations of the tenant not yet accepted (made by `POST /v2/users`)."""

    path = "/v2/invitations"
    opt = resource_opt("users")  # part of the team: users:read, users:write
    tags = ["Users"]

    @get(
        "/",
        operation_id="listInvitations",
        summary="List pending invitations",
        guards=[guard(policy.VIEW_TEAM)],
        opt={SORTS_OPT: accounts.INVITATION_SORTS},
    )
    async def list_invitations(self, tenant: TenantScope, list_query: ListQuery) -> Page[schemas.Invitation]:
        """Invitations not accepted yet, expired ones included (`expires_at`); sortable by `created_at`, `email`, `expires_at`."""
        return await accounts.list_invitations(tenant, list_query)

    @get("/{invitation_id:int}", operation_id="getInvitation", summary="Get an invitation", guards=[guard(policy.VIEW_TEAM)])
    async def get_invitation(
        self, tenant: TenantScope, invitation_id: Annotated[int, Parameter(description="Invitation id")]
    ) -> schemas.Invitation:
        """Pending or accepted (`accepted_at`); never its link. 404 for ids of other tenants."""
        return await accounts.get_invitation(tenant, invitation_id)

    @delete(
        "/{invitation_id:int}",
        operation_id="revokeInvitation",
        summary="Withdraw an invitation",
        guards=[guard(policy.MANAGE_USERS)],
        status_code=204,
    )
    async def revoke_invitation(self, tenant: TenantScope, invitation_id: Annotated[int, Parameter(description="Invitation id")]) -> None:
        """Its link stops working at once; 404 for accepted invitations and other tenants' ids."""
        await accounts.revoke_invitation(tenant, invitation_id)


class ApiKeyController(Controller):
    """API keys of the tenant; the key itself is shown only in the create response."""

    path = "/v2/api-keys"
    tags = ["API keys"]
    guards = [guard(policy.MANAGE_CREDENTIALS)]

    @get("/", operation_id="listApiKeys", summary="List API keys", opt={SORTS_OPT: accounts.KEY_SORTS})
    async def list_keys(
        self,
        tenant: TenantScope,
        list_query: ListQuery,
        include_revoked: Annotated[bool, Parameter(description="Include revoked keys")] = True,
    ) -> Page[schemas.ApiKey]:
        """Never includes secrets: only the prefix, permission and last use."""
        return await accounts.list_api_keys(tenant, list_query, include_revoked=include_revoked)

    @post("/", operation_id="createApiKey", summary="Create an API key", status_code=201)
    async def create_key(self, tenant: TenantScope, data: schemas.ApiKeyCreate) -> ApiResponse[schemas.ApiKeyCreated]:
        """`permission`: `read` (GET only) or `write`; `mode`: `live` or `test` (prefix `atr_live_`/`atr_test_`)."""
        created = await accounts.create_api_key(tenant, data)
        return ApiResponse(created, status_code=201, headers={"Location": f"/v2/api-keys/{created.id}", "Cache-Control": "no-store"})

    @delete("/{key_id:int}", operation_id="revokeApiKey", summary="Revoke an API key", status_code=200)
    async def revoke_key(self, tenant: TenantScope, key_id: Annotated[int, Parameter(description="API key id")]) -> schemas.ApiKey:
        """Takes effect immediately for every process."""
        return await accounts.revoke_api_key(tenant, key_id)


class OAuthClientController(Controller):
    """OAuth clients of the tenant for the client-credentials grant."""

    path = "/v2/oauth-clients"
    tags = ["Authentication"]
    guards = [guard(policy.MANAGE_CREDENTIALS)]

    @get("/", operation_id="listOAuthClients", summary="List OAuth clients")
    async def list_clients(self, tenant: TenantScope) -> list[schemas.OAuthClient]:
        """Never includes secrets."""
        return await accounts.list_oauth_clients(tenant)

    @post("/", operation_id="createOAuthClient", summary="Create an OAuth client", status_code=201)
    async def create_client(self, tenant: TenantScope, data: schemas.OAuthClientCreate) -> ApiResponse[schemas.OAuthClientCreated]:
        """The `client_secret` is shown once."""
        created = await accounts.create_oauth_client(tenant, data)
        return ApiResponse(created, status_code=201, headers={"Location": f"/v2/oauth-clients/{created.id}", "Cache-Control": "no-store"})

    @delete("/{client_pk:int}", operation_id="revokeOAuthClient", summary="Revoke an OAuth client", status_code=200)
    async def revoke_client(
        self, tenant: TenantScope, client_pk: Annotated[int, Parameter(description="OAuth client id")]
    ) -> schemas.OAuthClient:
        """Its tokens stop working at once."""
        return await accounts.revoke_oauth_client(tenant, client_pk)
