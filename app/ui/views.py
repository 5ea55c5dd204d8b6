"""Browser UI controllers: thin handlers over the same services as the JSON API."""

from __future__ import annotations

from typing import Annotated, Any, get_args
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from saq import Queue

from app.accounts import schemas
from app.accounts import service as accounts
from app.audit import service as audit
from app.audit.service import record_event
from app.db import TenantScope
from app.jobs import service as jobs
from app.leads import service as lead_service
from app.settings import Settings
from app.web.auth import SESSION_COOKIE, session_token_of
from app.web.context import principal_of, scope_for
from app.web.errors import ApiError, AuthenticationError, PermissionDenied, RateLimited
from app.web.htmx import render
from app.web.pagination import ListQuery

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
PAGE_SIZE = 25
ROLES = get_args(schemas.Role)


def ui_requires(*roles: str) -> Any:
    """Guard for UI pages: log in first (redirect), then the right role (403 page)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = principal_of(connection.scope)  # type: ignore[arg-type]
        if principal is None:
            raise NotAuthorizedException()
        if roles and principal.role not in roles:
            raise PermissionDenied("Your role does not give access to this page")

    return guard


def tenant_of(request: Request[Any, Any, Any]) -> TenantScope:
    """The logged-in user's tenant scope (401 → login when there is none)."""
    principal = principal_of(request.scope)  # type: ignore[arg-type]
    if principal is None:
        raise NotAuthorizedException()
    return scope_for(principal, request.scope)  # type: ignore[arg-type]


def form_errors(exc: Exception) -> dict[str, str]:
    """Field → message for a form that failed schema validation."""
    if isinstance(exc, msgspec.ValidationError):
        text = str(exc)
        field = text.rsplit("$.", 1)[-1].rstrip("`") if "$." in text else "form"
        if "missing required field" in text:
            field = text.split("`")[1]
            return {field: "Required"}
        message = text.split(" - at ")[0]
        if "matching regex" in message:
            message = {"email": "Enter a valid e-mail address", "phone": "International format starting with +"}.get(
                field, "Invalid format"
            )
        elif "length >=" in message:
            message = f"At least {message.rsplit(' ', 1)[-1]} characters"
        elif "Invalid enum value" in message:
            message = "Choose one of the options"
        return {field: message}
    if isinstance(exc, ApiError):
        field = str(exc.details.get("field", "form"))
        return {field: exc.detail}
    raise exc


def clean_form(form: dict[str, str]) -> dict[str, str]:
    """Form fields without the CSRF token and empty optional values."""
    return {k: v for k, v in form.items() if not k.startswith("_")}


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
            user = await accounts.authenticate_password(email, password)
        except RateLimited as exc:
            return render(request, "login.html", {**ctx, "error": exc.detail}, status_code=429)
        except AuthenticationError as exc:
            return render(request, "login.html", {**ctx, "error": exc.detail}, status_code=401)
        old = session_token_of(request.scope)  # type: ignore[arg-type]
        if old:
            await accounts.end_session(old)
        ip = request.client.host if request.client else ""
        ua = request.headers.get("user-agent", "")
        token = await accounts.create_session(user, settings, ip=ip, user_agent=ua)
        scope = TenantScope(
            tenant_id=user["tenant_id"], user_id=user["id"], role=user["role"], actor=user["email"], ip=ip, user_agent=ua[:300]
        )
        await record_event(scope, "auth.login", target_type="user", target_id=user["id"], details={"via": "browser"})
        response = Redirect(path=next_url, status_code=303)
        response.set_cookie(
            SESSION_COOKIE, token, max_age=settings.session_ttl, httponly=True, samesite="lax", secure=settings.cookie_secure, path="/"
        )
        return response

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        """End the session server-side and clear the cookie."""
        token = session_token_of(request.scope)  # type: ignore[arg-type]
        principal = principal_of(request.scope)  # type: ignore[arg-type]
        if token:
            await accounts.end_session(token)
        if principal is not None:
            await record_event(scope_for(principal, request.scope), "auth.logout", target_type="user", target_id=principal.user_id or "")  # type: ignore[arg-type]
        response = Redirect(path="/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


def _safe_next(value: str) -> str:
    """Only same-site relative paths, so login cannot redirect elsewhere."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


COMING_SOON = {
    "pipeline": ("Pipeline", "A kanban board of deals by stage, with drag and drop, WIP limits and live updates."),
    "tickets": ("Tickets", "A support queue with priorities, SLAs, public replies and internal notes."),
    "calls": ("Calls", "The call log with dispositions, transcripts and call analytics."),
    "invoices": ("Invoices", "Invoices with line items, partial payments and PDF downloads."),
}


class ShellController(Controller):
    """The dashboard and the screens later capabilities fill in."""

    include_in_schema = False
    guards = [ui_requires()]

    @get("/")
    async def dashboard(self, request: Request[Any, Any, Any]) -> Template:
        """Team, keys and recent activity at a glance."""
        tenant = tenant_of(request)
        org = await accounts.get_tenant(tenant)
        team = await accounts.list_users(tenant, ListQuery(limit=1), active=True)
        recent = await audit.list_events(tenant, ListQuery(limit=8)) if tenant.role == "admin" else None
        leads = await lead_service.status_counts(tenant)
        return render(
            request, "dashboard.html", {"active": "dashboard", "org": org, "team_size": team.total, "recent": recent, "leads": leads}
        )

    @get("/{section:str}")
    async def coming_soon(self, request: Request[Any, Any, Any], section: str) -> Template:
        """An honest placeholder for a screen that is not built yet."""
        if section not in COMING_SOON:
            from litestar.exceptions import NotFoundException

            raise NotFoundException()
        title, summary = COMING_SOON[section]
        return render(request, "coming_soon.html", {"active": section, "title": title, "summary": summary})


class SettingsController(Controller):
    """Settings: team, API keys, audit log and failed jobs."""

    path = "/settings"
    include_in_schema = False
    guards = [ui_requires()]

    @get("/")
    async def settings_home(self, request: Request[Any, Any, Any]) -> Redirect:
        """Team is the first settings tab."""
        return Redirect(path="/settings/team")

    # ---------------------------------------------------------------- team

    @get("/team", guards=[ui_requires("admin", "manager")])
    async def team(self, request: Request[Any, Any, Any], offset: Annotated[int, Parameter(ge=0)] = 0) -> Template:
        """Everyone in the tenant; admins can add users, change roles and deactivate."""
        tenant = tenant_of(request)
        users = await accounts.list_users(tenant, ListQuery(limit=PAGE_SIZE, offset=offset, sort="created_at"))
        return render(
            request,
            "settings/team.html",
            {"active": "settings", "tab": "team", "users": users, "errors": {}, "form": {}, "roles": ROLES},
        )

    @post("/team", guards=[ui_requires("admin")])
    async def create_user(self, request: Request[Any, Any, Any], data: Form) -> Template:
        """Add a user; errors are shown next to the fields and nothing is created."""
        tenant = tenant_of(request)
        form = clean_form(data)
        try:
            await accounts.create_user(tenant, msgspec.convert(form, schemas.UserCreate, strict=False))
        except (msgspec.ValidationError, ApiError) as exc:
            errors, status = form_errors(exc), 422
        else:
            errors, form, status = {}, {}, 200
        users = await accounts.list_users(tenant, ListQuery(limit=PAGE_SIZE, sort="created_at"))
        return render(
            request,
            "settings/team.html",
            {"active": "settings", "tab": "team", "users": users, "errors": errors, "form": form, "roles": ROLES},
            block="team",
            status_code=status,
        )

    @patch("/team/{user_id:int}", guards=[ui_requires("admin")])
    async def update_user(self, request: Request[Any, Any, Any], user_id: int, data: Form) -> Template:
        """Change a role or (de)activate a user; answers with the updated row."""
        tenant = tenant_of(request)
        form = clean_form(data)
        if "is_active" in form:
            form["is_active"] = form["is_active"] in ("true", "1", "on")  # type: ignore[assignment]
        error = None
        try:
            user = await accounts.update_user(tenant, user_id, msgspec.convert(form, schemas.UserUpdate, strict=False))
        except (msgspec.ValidationError, ApiError) as exc:
            if getattr(exc, "status_code", 422) in (403, 404):
                raise
            error = next(iter(form_errors(exc).values()))
            user = await accounts.get_user(tenant, user_id)
        return render(request, "settings/team.html", {"u": user, "row_error": error, "roles": ROLES}, block="user_row")

    # ---------------------------------------------------------------- API keys

    @get("/api-keys", guards=[ui_requires("admin")])
    async def api_keys(self, request: Request[Any, Any, Any]) -> Template:
        """The tenant's keys and a form to create one."""
        tenant = tenant_of(request)
        keys = await accounts.list_api_keys(tenant, ListQuery(limit=100))
        return render(
            request, "settings/api_keys.html", {"active": "settings", "tab": "api-keys", "keys": keys, "created": None, "errors": {}}
        )

    @post("/api-keys", guards=[ui_requires("admin")])
    async def create_api_key(self, request: Request[Any, Any, Any], data: Form) -> Template:
        """Create a key and show it this once."""
        tenant = tenant_of(request)
        created, errors, status = None, {}, 200
        try:
            created = await accounts.create_api_key(tenant, msgspec.convert(clean_form(data), schemas.ApiKeyCreate, strict=False))
        except (msgspec.ValidationError, ApiError) as exc:
            errors, status = form_errors(exc), 422
        keys = await accounts.list_api_keys(tenant, ListQuery(limit=100))
        return render(
            request,
            "settings/api_keys.html",
            {"active": "settings", "tab": "api-keys", "keys": keys, "created": created, "errors": errors},
            block="keys",
            status_code=status,
        )

    @post("/api-keys/{key_id:int}/revoke", guards=[ui_requires("admin")])
    async def revoke_api_key(self, request: Request[Any, Any, Any], key_id: int) -> Template:
        """Revoke a key; answers with its updated row."""
        key = await accounts.revoke_api_key(tenant_of(request), key_id)
        return render(request, "settings/api_keys.html", {"k": key}, block="key_row")

    # ---------------------------------------------------------------- audit log and jobs

    @get("/audit-log", guards=[ui_requires("admin")])
    async def audit_log(
        self,
        request: Request[Any, Any, Any],
        offset: Annotated[int, Parameter(ge=0)] = 0,
        action: Annotated[str | None, Parameter()] = None,
    ) -> Template:
        """Newest first, paginated; the page state lives in the URL."""
        tenant = tenant_of(request)
        entries = await audit.list_events(tenant, ListQuery(limit=PAGE_SIZE, offset=offset), action=action or None)
        params = {"action": action} if action else {}
        return render(
            request,
            "settings/audit_log.html",
            {"active": "settings", "tab": "audit-log", "entries": entries, "action": action or "", "query": urlencode(params)},
            push_url=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        )

    @get("/jobs", guards=[ui_requires("admin")])
    async def failed_jobs(self, request: Request[Any, Any, Any]) -> Template:
        """Background jobs that failed for good, with a replay button."""
        page = await jobs.list_failed_jobs(tenant_of(request), ListQuery(limit=50))
        return render(request, "settings/jobs.html", {"active": "settings", "tab": "jobs", "jobs": page})

    @post("/jobs/{failed_id:int}/replay", guards=[ui_requires("admin")])
    async def replay_job(self, request: Request[Any, Any, Any], failed_id: int, queue: Queue) -> Template:
        """Enqueue the job again; answers with its updated row."""
        job = await jobs.replay_failed_job(tenant_of(request), queue, failed_id)
        return render(request, "settings/jobs.html", {"j": job}, block="job_row")


UI_CONTROLLERS = [SessionController, ShellController, SettingsController]
