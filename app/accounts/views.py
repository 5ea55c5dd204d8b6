"""Screens of the accounts domain: log in and out, workspaces, invitations, the team, API keys."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, get, patch, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from msgspec import UNSET

from app.accounts import policy, schemas
from app.accounts import service as accounts
from app.accounts.authentication import session_token_of
from app.core.errors import AuthenticationError, DomainError, RateLimited, ResourceNotFound
from app.core.locales import LOCALES
from app.core.pagination import ListQuery
from app.core.policy import USER_ROLES
from app.core.principal import Principal
from app.core.validation import convert_input
from app.core.zones import zone_names
from app.db import TenantScope
from app.domains import api_resources
from app.events.service import Subject, audit
from app.settings import Settings
from app.web import times
from app.web.auth import guard
from app.web.context import principal_of, scope_for
from app.web.ratelimit import client_ip
from app.web.ui import Form, clean_form, form_errors, is_fragment, refusal_stays_on_page, render

PAGE_SIZE = 25


def _safe_next(value: str) -> str:
    """Only same-site relative paths, so login cannot redirect elsewhere."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


# The cookie that carries, for a few minutes after the password was checked, which account is choosing a workspace.
WORKSPACE_CHOICE_COOKIE = "atrium_workspace_choice"


async def _enter_workspace(
    request: Request[Any, Any, Any], settings: Settings, workspace: schemas.Workspace, email: str, *, via: str, next_url: str = "/"
) -> Redirect:
    """Start a session in `workspace` (ending the browser's previous one) and go on to `next_url`."""
    old = session_token_of(request.scope)  # type: ignore[arg-type]
    if old:
        await accounts.end_session(old)
    ip = request.client.host if request.client else ""
    ua = request.headers.get("user-agent", "")
    token = await accounts.create_session(workspace, settings, ip=ip, user_agent=ua)
    scope = TenantScope(
        tenant_id=workspace.tenant_id, user_id=workspace.user_id, role=workspace.role, actor=email, ip=ip, user_agent=ua[:300]
    )
    await audit(scope, Subject("user", workspace.user_id), "auth.login", {"via": via})
    response = Redirect(path=next_url, status_code=303)
    response.set_cookie(
        settings.session_cookie, token, max_age=settings.session_ttl, httponly=True, samesite="lax", secure=settings.cookie_secure, path="/"
    )
    response.delete_cookie(WORKSPACE_CHOICE_COOKIE, path="/")
    return response


class SessionController(Controller):
    """Log in and out of the browser UI."""

    include_in_schema = False

    @get("/login")
    async def login_page(
        self, request: Request[Any, Any, Any], next_url: Annotated[str, Parameter(query="next")] = "/"
    ) -> Template | Redirect:
        """The login form (logged-in users go straight on)."""
        if principal_of(request.scope) is not None:  # type: ignore[arg-type]
            return Redirect(path=_safe_next(next_url))
        return render(request, "login.html", {"next": _safe_next(next_url), "error": None, "email": ""})

    @post("/login")
    async def login(self, request: Request[Any, Any, Any], data: Form, settings: Settings) -> Template | Redirect:
        """Check the password and enter the person's workspace, or let them choose one when they have several;
        the same message for every failure."""
        email, password = data.get("email", ""), data.get("password", "")
        next_url = _safe_next(data.get("next", "/"))
        ctx = {"next": next_url, "email": email}
        try:
            account = await accounts.authenticate_password(email, password, client_ip(request.scope))  # type: ignore[arg-type]
            workspaces = await accounts.active_memberships(account["id"])
            if not workspaces:
                raise AuthenticationError(accounts.INVALID_LOGIN)
        except RateLimited as exc:
            return render(request, "login.html", {**ctx, "error": exc.human}, status_code=429)
        except AuthenticationError as exc:
            return render(request, "login.html", {**ctx, "error": exc.human}, status_code=401)
        if len(workspaces) == 1:
            return await _enter_workspace(request, settings, workspaces[0], account["email"], via="browser", next_url=next_url)
        response = Redirect(path=f"/workspaces?next={quote(next_url)}", status_code=303)
        response.set_cookie(
            WORKSPACE_CHOICE_COOKIE,
            accounts.workspace_choice_ticket(settings, account["id"], account["email"]),
            max_age=accounts.WORKSPACE_CHOICE_TTL,
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
            path="/",
        )
        return response

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any], settings: Settings) -> Redirect:
        """End the session server-side and clear the cookie."""
        token = session_token_of(request.scope)  # type: ignore[arg-type]
        principal = principal_of(request.scope)  # type: ignore[arg-type]
        if token:
            await accounts.end_session(token)
        if principal is not None:
            await audit(scope_for(principal, request.scope), Subject("user", principal.user_id or ""), "auth.logout")  # type: ignore[arg-type]
        response = Redirect(path="/login", status_code=303)
        response.delete_cookie(settings.session_cookie, path="/")
        return response


def _choosing_account(request: Request[Any, Any, Any], settings: Settings) -> tuple[int, str, Principal | None] | None:
    """Whose workspaces these are (account id, e-mail): the signed-in person's, or the account that just logged in
    and is choosing."""
    principal = principal_of(request.scope)  # type: ignore[arg-type]
    if principal is not None and principal.account_id is not None:
        return principal.account_id, principal.email, principal
    ticket = request.cookies.get(WORKSPACE_CHOICE_COOKIE)
    account = accounts.account_of_ticket(settings, ticket) if ticket else None
    return (*account, None) if account is not None else None


class WorkspacePagesController(Controller):
    """A person in several workspaces chooses one after logging in, and switches between them from the top bar."""

    path = "/workspaces"
    include_in_schema = False

    @get("/")
    async def workspaces(
        self, request: Request[Any, Any, Any], settings: Settings, next_url: Annotated[str, Parameter(query="next")] = "/"
    ) -> Template | Redirect:
        """The person's workspaces, the current one marked; without a session or a fresh login, the login page."""
        chooser = _choosing_account(request, settings)
        if chooser is None:
            return Redirect(path="/login")
        account_id, _, principal = chooser
        workspaces = await accounts.active_memberships(account_id)
        current = principal.tenant_id if principal else None
        return render(request, "workspaces.html", {"workspaces": workspaces, "current": current, "next": _safe_next(next_url)})

    @post("/")
    async def choose(self, request: Request[Any, Any, Any], data: Form, settings: Settings) -> Redirect:
        """Enter the chosen workspace (a new session there); 404 for a tenant the person is not an active member of."""
        chooser = _choosing_account(request, settings)
        if chooser is None:
            return Redirect(path="/login", status_code=303)
        raw = data.get("tenant_id", "")
        if not raw.isdigit():
            raise ResourceNotFound("You are not a member of that workspace")
        account_id, email, principal = chooser
        workspace = await accounts.membership(account_id, int(raw))
        next_url = _safe_next(data.get("next", "/")) if principal is None else "/"
        return await _enter_workspace(
            request, settings, workspace, email, via="browser" if principal is None else "workspace switch", next_url=next_url
        )


class InvitationPagesController(Controller):
    """The page an invitation's link opens: join the workspace with an existing account's password or a new one."""

    path = "/invitations"
    include_in_schema = False

    @get("/{token:str}")
    async def invitation(self, request: Request[Any, Any, Any], token: str) -> Template:
        """Who invites whom to which workspace, and the form to join; the same page whether or not the address has an account."""
        invitation = await accounts.open_invitation(token)
        if invitation is None:
            raise ResourceNotFound(accounts.INVALID_INVITATION)
        return render(request, "invitation.html", {"invitation": invitation, "token": token, "errors": {}, "form": {}})

    @post("/{token:str}")
    async def accept(self, request: Request[Any, Any, Any], token: str, data: Form, settings: Settings) -> Template | Redirect:
        """Join and enter the workspace; a wrong password or a refused field is shown on the page and nothing changes."""
        form = clean_form(data)
        invitation = await accounts.open_invitation(token)
        if invitation is None:
            raise ResourceNotFound(accounts.INVALID_INVITATION)
        payload = {"token": token, "password": form.get("password", "")}
        if form.get("full_name", "").strip():
            payload["full_name"] = form["full_name"]
        try:
            fields = convert_input(payload, schemas.AcceptInvitationRequest)
            workspace = await accounts.accept_invitation(
                token,
                fields.password,
                fields.full_name if fields.full_name is not UNSET else None,
                ip=client_ip(request.scope),  # type: ignore[arg-type]
                user_agent=request.headers.get("user-agent", ""),
            )
        except DomainError as exc:
            if isinstance(exc, ResourceNotFound):
                raise
            status = 429 if isinstance(exc, RateLimited) else 401 if isinstance(exc, AuthenticationError) else 422
            errors = {"password": exc.human} if isinstance(exc, AuthenticationError) else form_errors(exc)
            return render(
                request, "invitation.html", {"invitation": invitation, "token": token, "errors": errors, "form": form}, status_code=status
            )
        return await _enter_workspace(request, settings, workspace, invitation.email, via="invitation")


def _show_times_in(request: Request[Any, Any, Any], zone: str) -> None:
    """The answer to a saved zone already shows times in it (the principal was read before the change)."""
    principal = principal_of(request.scope)  # type: ignore[arg-type]
    if principal is not None:
        request.scope["state"]["principal"] = replace(principal, time_zone=zone)


class AccountPagesController(Controller):
    """A person's own account: who they are and the time zone their screens use."""

    path = "/account"
    include_in_schema = False
    guards = [guard(policy.SELF_SERVICE)]

    async def _page(self, request: Request[Any, Any, Any], tenant: TenantScope, **extra: Any) -> Template:
        assert tenant.user_id is not None
        ctx = {
            "me": await accounts.get_user(tenant, tenant.user_id),
            "workspace_zone": (await accounts.get_tenant(tenant)).time_zone,
            "zones": zone_names(),
            "locales": LOCALES,
            "browser_locale": times.pick_locale(request.headers.get("accept-language")),
            "errors": {},
            "message": None,
            **extra,
        }
        return render(request, "account.html", ctx, status_code=422 if extra.get("errors") else 200)

    @get("/")
    async def account(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Name, e-mail, role and the time-zone choice."""
        return await self._page(request, tenant)

    @post("/")
    async def save_time_zone(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template:
        """Keep the person's zone (empty: the workspace's); the page answers in the new zone at once."""
        try:
            me = await accounts.set_own_time_zone(tenant, clean_form(data).get("time_zone", "").strip() or None)
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._page(request, tenant, errors=form_errors(exc))
        zone = me.time_zone or (await accounts.get_tenant(tenant)).time_zone
        _show_times_in(request, zone)
        return await self._page(request, tenant, message=f"Times now show in {zone.replace('_', ' ')}.")

    @post("/locale")
    async def save_locale(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template:
        """Keep the person's language for dates and numbers (empty: their browser's); the page answers in it at once."""
        try:
            me = await accounts.set_own_locale(tenant, clean_form(data).get("locale", "").strip() or None)
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._page(request, tenant, errors=form_errors(exc))
        principal = principal_of(request.scope)  # type: ignore[arg-type]
        if principal is not None:  # the answer already speaks the new language (the principal was read before the change)
            request.scope["state"]["principal"] = replace(principal, locale=me.locale)
        said = LOCALES.get(me.locale or "", "your browser's language")
        return await self._page(request, tenant, locale_message=f"Dates and numbers now follow {said}.")


class TeamPagesController(Controller):
    """Settings: the team and the API keys."""

    path = "/settings"
    include_in_schema = False
    guards = [guard()]

    @get("/")
    async def settings_home(self) -> Redirect:
        """Team is the first settings tab."""
        return Redirect(path="/settings/team")

    @get("/team", guards=[guard(policy.VIEW_TEAM)])
    async def team(self, request: Request[Any, Any, Any], tenant: TenantScope, offset: Annotated[int, Parameter(ge=0)] = 0) -> Template:
        """Everyone in the tenant; admins can add users, change roles and deactivate."""
        return await self._team(request, tenant, offset)

    async def _team(
        self,
        request: Request[Any, Any, Any],
        tenant: TenantScope,
        offset: int = 0,
        *,
        block: str = "content",
        status: int | None = None,
        **extra: Any,
    ) -> Template:
        users = await accounts.list_users(tenant, ListQuery(limit=PAGE_SIZE, offset=offset, sort="created_at"))
        ctx = {
            "active": "settings",
            "tab": "team",
            "users": users,
            "invitations": await accounts.list_invitations(tenant, ListQuery(limit=100, sort="-created_at")),
            "invited": None,
            "errors": {},
            "form": {},
            "roles": USER_ROLES,
            # The workspace form is outside the team block: an htmx swap of the block needs no tenant read.
            "workspace": await accounts.get_tenant(tenant) if block == "content" or not is_fragment(request) else None,
            "zones": zone_names(),
            "zone_errors": {},
            "zone_message": None,
            **extra,
        }
        return render(request, "settings/team.html", ctx, block=block, status_code=status or (422 if extra.get("zone_errors") else 200))

    @post("/workspace", guards=[guard(policy.MANAGE_WORKSPACE)])
    async def save_workspace(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template:
        """The workspace's time zone: what everyone who chose none of their own sees times in."""
        try:
            saved = await accounts.set_tenant_time_zone(tenant, clean_form(data).get("time_zone", "").strip())
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            return await self._team(request, tenant, zone_errors=form_errors(exc))
        assert tenant.user_id is not None
        if (await accounts.get_user(tenant, tenant.user_id)).time_zone is None:
            _show_times_in(request, saved.time_zone)
        return await self._team(request, tenant, zone_message=f"The workspace's time zone is now {saved.time_zone.replace('_', ' ')}.")

    @post("/team", guards=[guard(policy.MANAGE_USERS)])
    async def invite_user(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template:
        """Invite a person; errors are shown next to the fields and nothing is created. The answer shows the link to
        pass on (or says it was e-mailed), the same whether or not the address has an Atrium account."""
        form = clean_form(data)
        fields = {k: v for k, v in form.items() if k != "full_name" or v.strip()}  # the name is optional: empty is none
        invited = None
        try:
            invited = await accounts.invite_user(tenant, convert_input(fields, schemas.InvitationCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            errors, status = form_errors(exc), 422
        else:
            errors, form, status = {}, {}, 200
        return await self._team(request, tenant, block="team", status=status, errors=errors, form=form, invited=invited)

    @post("/team/invitations/{invitation_id:int}/revoke", guards=[guard(policy.MANAGE_USERS)])
    async def revoke_invitation(self, request: Request[Any, Any, Any], tenant: TenantScope, invitation_id: int) -> Template | Redirect:
        """Withdraw a pending invitation (its link stops working); answers with the team again."""
        await accounts.revoke_invitation(tenant, invitation_id)
        if not is_fragment(request):
            return Redirect(path="/settings/team", status_code=303)
        return await self._team(request, tenant, block="team")

    @patch("/team/{user_id:int}", guards=[guard(policy.MANAGE_USERS)])
    async def update_user(self, request: Request[Any, Any, Any], tenant: TenantScope, user_id: int, data: Form) -> Template | Redirect:
        """Change a role or (de)activate a user; answers with the updated row."""
        form: dict[str, Any] = clean_form(data)
        if "is_active" in form:
            form["is_active"] = form["is_active"] in ("true", "1", "on")
        error = None
        try:
            user = await accounts.update_user(tenant, user_id, convert_input(form, schemas.UserUpdate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            error = exc.human
            user = await accounts.get_user(tenant, user_id)
        if not is_fragment(request):  # a plain client's PATCH: the whole page again (the row alone is htmx's)
            return Redirect(path="/settings/team", status_code=303)
        return render(request, "settings/team.html", {"u": user, "row_error": error, "roles": USER_ROLES}, block="user_row")

    @get("/api-keys", guards=[guard(policy.MANAGE_CREDENTIALS)])
    async def api_keys(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """The tenant's keys and a form to create one."""
        keys = await accounts.list_api_keys(tenant, ListQuery(limit=100))
        return render(
            request,
            "settings/api_keys.html",
            {"active": "settings", "tab": "api-keys", "keys": keys, "created": None, "errors": {}, "resources": api_resources()},
        )

    @post("/api-keys", guards=[guard(policy.MANAGE_CREDENTIALS)])
    async def create_api_key(self, request: Request[Any, Any, Any], tenant: TenantScope) -> Template:
        """Create a key (for every API resource, or the ticked ones) and show it this once."""
        form = await request.form()
        fields: dict[str, Any] = clean_form({k: str(v) for k, v in form.items()})
        if "resources" in form:  # none ticked (or a form without the boxes): every resource, as the default box says
            fields["resources"] = [str(v) for v in form.getall("resources")]
        created, errors, status = None, {}, 200
        try:
            created = await accounts.create_api_key(tenant, convert_input(fields, schemas.ApiKeyCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            errors, status = form_errors(exc), 422
        keys = await accounts.list_api_keys(tenant, ListQuery(limit=100))
        return render(
            request,
            "settings/api_keys.html",
            {"active": "settings", "tab": "api-keys", "keys": keys, "created": created, "errors": errors, "resources": api_resources()},
            block="keys",
            status_code=status,
        )

    @post("/api-keys/{key_id:int}/revoke", guards=[guard(policy.MANAGE_CREDENTIALS)])
    async def revoke_api_key(self, request: Request[Any, Any, Any], tenant: TenantScope, key_id: int) -> Template:
        """Revoke a key; answers with its updated row."""
        key = await accounts.revoke_api_key(tenant, key_id)
        return render(request, "settings/api_keys.html", {"k": key}, block="key_row")
