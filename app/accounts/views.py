"""Screens of the accounts domain: log in and out, the team, API keys."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from app.accounts import policy, schemas
from app.accounts import service as accounts
from app.accounts.authentication import session_token_of
from app.core.errors import AuthenticationError, DomainError, RateLimited
from app.core.pagination import ListQuery
from app.core.policy import USER_ROLES
from app.core.validation import convert_input
from app.core.zones import zone_names
from app.db import TenantScope
from app.domains import api_resources
from app.events.service import Subject, audit
from app.settings import Settings
from app.web.auth import guard
from app.web.context import principal_of, scope_for
from app.web.ratelimit import client_ip
from app.web.ui import Form, clean_form, form_errors, is_fragment, refusal_stays_on_page, render

PAGE_SIZE = 25


def _safe_next(value: str) -> str:
    """Only same-site relative paths, so login cannot redirect elsewhere."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


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
        """Check the password, rotate the session and go on; the same message for every failure."""
        email, password = data.get("email", ""), data.get("password", "")
        next_url = _safe_next(data.get("next", "/"))
        ctx = {"next": next_url, "email": email}
        try:
            user = await accounts.authenticate_password(email, password, client_ip(request.scope))  # type: ignore[arg-type]
        except RateLimited as exc:
            return render(request, "login.html", {**ctx, "error": exc.human}, status_code=429)
        except AuthenticationError as exc:
            return render(request, "login.html", {**ctx, "error": exc.human}, status_code=401)
        old = session_token_of(request.scope)  # type: ignore[arg-type]
        if old:
            await accounts.end_session(old)
        ip = request.client.host if request.client else ""
        ua = request.headers.get("user-agent", "")
        token = await accounts.create_session(user, settings, ip=ip, user_agent=ua)
        scope = TenantScope(
            tenant_id=user["tenant_id"], user_id=user["id"], role=user["role"], actor=user["email"], ip=ip, user_agent=ua[:300]
        )
        await audit(scope, Subject("user", user["id"]), "auth.login", {"via": "browser"})
        response = Redirect(path=next_url, status_code=303)
        response.set_cookie(
            settings.session_cookie,
            token,
            max_age=settings.session_ttl,
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
    async def create_user(self, request: Request[Any, Any, Any], tenant: TenantScope, data: Form) -> Template:
        """Add a user; errors are shown next to the fields and nothing is created."""
        form = clean_form(data)
        try:
            await accounts.create_user(tenant, convert_input(form, schemas.UserCreate))
        except DomainError as exc:
            if not refusal_stays_on_page(exc):
                raise
            errors, status = form_errors(exc), 422
        else:
            errors, form, status = {}, {}, 200
        return await self._team(request, tenant, block="team", status=status, errors=errors, form=form)

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
