"""Accounts: tenants, users, sessions, tokens, API keys and OAuth clients.

Functions that act inside a tenant take a `TenantScope`. The few that must find a tenant from a
credential (login, API key, session cookie, token) use `system_transaction` and nothing else.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from asyncpg.exceptions import UniqueViolationError
from msgspec import UNSET

from app.accounts import policy, schemas
from app.accounts.security import (
    TokenError,
    api_key_prefix,
    decode_jwt,
    dummy_hash,
    generate_api_key,
    hash_secret_async,
    issue_jwt,
    needs_rehash,
    new_token,
    sha256_hex,
    verify_api_key,
    verify_password_async,
    verify_secret_async,
)
from app.accounts.tables import Account, ApiKey, Invitation, LoginThrottle, OAuthClient, User, UserSession
from app.core.errors import (
    AuthenticationError,
    BadRequest,
    Conflict,
    PermissionDenied,
    RateLimited,
    ResourceNotFound,
    ValidationFailed,
)
from app.core.locales import checked_locale
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.core.policy import INTEGRATION
from app.core.principal import Principal
from app.core.scopes import ANY, EVERYTHING, canonical, covers, parse, render
from app.core.versions import require_current
from app.core.zones import checked_zone
from app.db import TenantScope, fetch, system_transaction, tenant_transaction
from app.domains import api_resources, set_up_tenant
from app.events.service import Subject, audit
from app.settings import Settings, base_url, current
from app.tenancy.tables import Tenant

MAX_LOGIN_FAILURES = 5
# From one address, across accounts: an office behind one NAT logs in freely (successes are not
# counted), a guesser trying many accounts is stopped before it costs more password hashing.
MAX_ADDRESS_FAILURES = 30
# Registrations from one address in LOGIN_WINDOW, successful or not (each can probe whether an address is taken).
MAX_REGISTRATIONS = 20
# Failed logins from an address (in LOGIN_WINDOW) after which its logins take the suspects' hashing lane.
SUSPECT_ADDRESS_FAILURES = 3
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_LOCK = timedelta(minutes=15)
INVALID_LOGIN = "Invalid email or password"
INVALID_INVITATION = "This invitation link is not valid: it was used, withdrawn or has expired"
USER_SORTS = {"created_at": "created_at", "email": "email", "full_name": "full_name", "role": "role"}
INVITATION_SORTS = {"created_at": "created_at", "email": "email", "expires_at": "expires_at"}
INVITATION_TTL = timedelta(days=7)
# A person in several workspaces has this long, after their password was checked, to choose one in the browser.
WORKSPACE_CHOICE_TTL = 600
KEY_SORTS = {"created_at": "created_at", "name": "name", "last_used_at": "last_used_at"}


def _now() -> datetime:
    return datetime.now(UTC)


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower())
    return slug.strip("-")[:60] or "team"


# --------------------------------------------------------------------------- tenants and users


async def register_tenant(
    data: schemas.RegisterRequest, *, plan: str = "starter", ip: str = "", user_agent: str = ""
) -> tuple[schemas.Tenant, schemas.User]:
    """Create a tenant and its first admin user. The plan is the operator's choice, never the client's.

    It is the one answer that tells whether an address has an account (the guides' Quick Start returns tokens
    for a new one), so one address (`ip`) may try it at most MAX_REGISTRATIONS times in LOGIN_WINDOW."""
    if ip:
        async with system_transaction():
            await _reserve_login_attempt(f"register:{ip}"[:254], MAX_REGISTRATIONS)  # never an account's key (acct:…)
    email = normalise_email(data.email)
    # The schema refuses blank names; what Python's strip() also takes for space (\x1c…) is kept as sent.
    tenant_name = next(
        (str(v).strip() or str(v) for v in (data.tenant_name, data.tenantName, data.team_name, data.companyName) if v is not UNSET),
        None,
    )
    if tenant_name is None:
        raise ValidationFailed(
            "Invalid tenant_name: This field is required",
            details={"field": "tenant_name", "expected": "Name of the new tenant (tenantName and team_name are accepted too)"},
        )
    full_name = next((str(v).strip() for v in (data.full_name, data.name) if v is not UNSET and str(v).strip()), email.split("@")[0])
    password_hash = await hash_secret_async(new_password(data.password))
    async with system_transaction():
        if await Account.exists().where(Account.email == email):
            raise Conflict("An account with this email already exists", details={"email": email})
        slug = _slugify(tenant_name)
        if await Tenant.exists().where(Tenant.slug == slug):
            slug = f"{slug}-{secrets.token_hex(3)}"
        tenant_rows = await Tenant.insert(Tenant(name=tenant_name[:200], slug=slug, plan=plan)).returning(*Tenant.all_columns())
        tenant = tenant_rows[0]
        try:
            account_rows = await Account.insert(Account(email=email, full_name=full_name[:200], password_hash=password_hash)).returning(
                Account.id
            )
        except UniqueViolationError:
            raise Conflict("An account with this email already exists", details={"email": email}) from None
        user_rows = await User.insert(
            User(tenant_id=tenant["id"], account_id=account_rows[0]["id"], email=email, full_name=full_name[:200], role="admin")
        ).returning(*User.all_columns())
    user = user_rows[0]
    scope = TenantScope(tenant_id=tenant["id"], user_id=user["id"], role="admin", actor=email, ip=ip, user_agent=user_agent)
    async with tenant_transaction(tenant["id"]):
        await audit(scope, Subject("tenant", tenant["id"]), "tenant.registered", {"name": tenant_name})
        await set_up_tenant(scope)
    return msgspec.convert(tenant, schemas.Tenant), msgspec.convert(user, schemas.User)


async def get_tenant(scope: TenantScope) -> schemas.Tenant:
    """The caller's own tenant."""
    async with tenant_transaction(scope.tenant_id):
        row = await Tenant.select().where(Tenant.id == scope.tenant_id).first()
    if row is None:
        raise ResourceNotFound("Tenant not found")
    return msgspec.convert(row, schemas.Tenant)


async def set_tenant_time_zone(scope: TenantScope, zone: str) -> schemas.Tenant:
    """The zone the tenant's screens show times in (for people who chose none of their own)."""
    policy.MANAGE_WORKSPACE.require(scope)
    zone = checked_zone(zone)
    async with tenant_transaction(scope.tenant_id):
        before = await Tenant.select(Tenant.time_zone).where(Tenant.id == scope.tenant_id).first()
        if before is None:
            raise ResourceNotFound("Tenant not found")
        await Tenant.update({Tenant.time_zone: zone}).where(Tenant.id == scope.tenant_id)
        await audit(scope, Subject("tenant", scope.tenant_id), "tenant.updated", {"time_zone": [before["time_zone"], zone]})
    return await get_tenant(scope)


async def set_own_time_zone(scope: TenantScope, zone: str | None) -> schemas.User:
    """A person's own zone for their screens (None: the tenant's)."""
    policy.SELF_SERVICE.require(scope)
    assert scope.user_id is not None
    zone = checked_zone(zone) if zone else None
    async with tenant_transaction(scope.tenant_id):
        await User.update({User.time_zone: zone}).where((User.id == scope.user_id) & (User.tenant_id == scope.tenant_id))
        await audit(scope, Subject("user", scope.user_id), "user.updated", {"time_zone": zone or "tenant's"})
    return await get_user(scope, scope.user_id)


async def set_own_locale(scope: TenantScope, locale: str | None) -> schemas.User:
    """A person's own language for dates and numbers on their screens (None: their browser's); right to left for
    Arabic, Hebrew, Persian and Urdu."""
    policy.SELF_SERVICE.require(scope)
    assert scope.user_id is not None
    locale = checked_locale(locale) if locale else None
    async with tenant_transaction(scope.tenant_id):
        await User.update({User.locale: locale}).where((User.id == scope.user_id) & (User.tenant_id == scope.tenant_id))
        await audit(scope, Subject("user", scope.user_id), "user.updated", {"locale": locale or "browser's"})
    return await get_user(scope, scope.user_id)


# --------------------------------------------------------------------------- the installation's operator


async def list_tenants() -> list[dict[str, Any]]:
    """Every tenant with its plan and operator-set rate limit (the `atrium tenant list` command)."""
    async with system_transaction():
        rows = await Tenant.select(Tenant.id, Tenant.slug, Tenant.name, Tenant.plan, Tenant.rate_limit).order_by(Tenant.id)
    return [dict(row) for row in rows]


async def set_tenant_rate_limit(tenant: str, limit: int | None) -> dict[str, Any]:
    """Set a tenant's API requests per minute (None: its plan's, 0: unlimited); `tenant` is its id or slug.

    Only the installation's operator does this (the CLI): no tenant API or screen changes it.
    """
    if limit is not None and limit < 0:
        raise ValidationFailed("A rate limit is a number of requests per minute, 0 (unlimited) or the plan's", details={"field": "limit"})
    where = Tenant.id == int(tenant) if tenant.isdigit() else Tenant.slug == tenant
    async with system_transaction():
        row = await Tenant.select(Tenant.id, Tenant.slug, Tenant.name, Tenant.plan, Tenant.rate_limit).where(where).first()
        if row is None:
            raise ResourceNotFound(f"No tenant with id or slug {tenant!r}")
        await Tenant.update({Tenant.rate_limit: limit}).where(Tenant.id == row["id"])
    operator = TenantScope(tenant_id=row["id"], actor="operator (atrium tenant set-rate-limit)")
    await audit(operator, Subject("tenant", row["id"]), "tenant.rate_limit_changed", {"from": row["rate_limit"], "to": limit})
    return {**row, "rate_limit": limit}


async def _reserve_login_attempt(account: str, max_failures: int = MAX_LOGIN_FAILURES) -> int:
    """Count this attempt before checking the password, atomically, so parallel guesses cannot all pass;
    returns the attempts counted before this one in the window.

    The window restarts after LOGIN_WINDOW; past MAX_LOGIN_FAILURES attempts in it the account name is
    locked for LOGIN_LOCK. A successful login clears the count.
    """
    rows = await fetch(
        """
        INSERT INTO login_throttle AS t (account, failures, window_started_at, locked_until) VALUES ($1, 1, now(), NULL)
        ON CONFLICT (account) DO UPDATE SET
          failures = CASE WHEN t.locked_until > now() THEN t.failures
                          WHEN t.window_started_at < now() - $2::interval THEN 1 ELSE t.failures + 1 END,
          window_started_at = CASE WHEN t.locked_until > now() THEN t.window_started_at
                                   WHEN t.window_started_at < now() - $2::interval THEN now() ELSE t.window_started_at END,
          locked_until = CASE WHEN t.locked_until > now() THEN t.locked_until
                              WHEN t.window_started_at >= now() - $2::interval AND t.failures + 1 > $3 THEN now() + $4::interval
                              ELSE NULL END
        RETURNING locked_until, failures
        """,
        account,
        LOGIN_WINDOW,
        max_failures,
        LOGIN_LOCK,
    )
    locked_until = rows[0]["locked_until"]
    if locked_until is not None and locked_until > _now():
        retry = int((locked_until - _now()).total_seconds()) + 1
        raise RateLimited("Too many failed login attempts; try again later", retry_after=retry)
    return int(rows[0]["failures"]) - 1


async def _give_back_attempt(*keys: str) -> None:
    """Uncount one attempt of each throttle key (an attempt that succeeded, or whose password was never checked)."""
    await fetch("UPDATE login_throttle SET failures = greatest(failures - 1, 0) WHERE account = ANY($1::text[])", [k for k in keys if k])


def new_password(password: str) -> str:
    """A password as it is hashed: NFKC-normalised (so `ﬁ` and `fi`, or a composed and a decomposed `é`, are
    the same password on every keyboard); one of only spaces is refused."""
    if not password.strip():
        raise ValidationFailed(
            "Invalid password: it may not be only spaces",
            details={"field": "password", "expected": "At least 8 characters, not only spaces"},
            human="Choose a password that is not only spaces",
        )
    return unicodedata.normalize("NFKC", password)


async def authenticate_password(email: str, password: str, ip: str = "") -> dict[str, Any]:
    """The account with these credentials (`id`, `email`, `full_name`). Unknown e-mail and wrong password fail alike.

    Both the account and the caller's address (`ip`) are throttled, before any password hashing. Which of the
    account's workspaces the person enters is chosen afterwards (`login_membership`, `active_memberships`)."""
    address_key = normalise_email(email)[:254]
    # Throttle keys of accounts, addresses and registrations never collide (an e-mail cannot start with "acct:").
    account_key = f"acct:{address_key}"[:254]
    address = f"ip:{ip}"[:254] if ip else ""
    async with system_transaction():
        address_failures = await _reserve_login_attempt(address, MAX_ADDRESS_FAILURES) if address else 0
        account_failures = await _reserve_login_attempt(account_key)
        account = (
            await Account.select(Account.id, Account.email, Account.full_name, Account.password_hash)
            .where(Account.email == address_key)
            .first()
        )
    stored = account["password_hash"] if account else dummy_hash()
    normal = unicodedata.normalize("NFKC", password)
    # Logins that come after recent failures (a guesser, a flood) are checked in their own narrow lane, so
    # they cannot take the hashing capacity people logging in normally need.
    suspect = account_failures > 0 or address_failures >= SUSPECT_ADDRESS_FAILURES
    try:
        ok = await verify_password_async(stored, normal, suspect=suspect)
        legacy = not ok and normal != password and await verify_password_async(stored, password, suspect=suspect)  # before NFKC
    except RateLimited:  # the password was never checked: the attempt is given back
        async with system_transaction():
            await _give_back_attempt(account_key, address)
        raise
    if not (ok or legacy) or account is None:
        raise AuthenticationError(INVALID_LOGIN)
    async with system_transaction():
        if legacy or needs_rehash(stored):
            await Account.update({Account.password_hash: await hash_secret_async(normal)}).where(Account.id == account["id"])
        await LoginThrottle.delete().where(LoginThrottle.account == account_key)
        await _give_back_attempt(address)  # a success does not count against the address
    return {"id": account["id"], "email": account["email"], "full_name": account["full_name"]}


# --------------------------------------------------------------------------- a person's workspaces


async def active_memberships(account_id: int) -> list[schemas.Workspace]:
    """The tenants an account may enter (its active memberships), by name: only ever shown to the account itself."""
    async with system_transaction():
        rows = await fetch(
            """
            SELECT u.tenant_id, t.name, u.id AS user_id, u.role
            FROM app_user u JOIN tenant t ON t.id = u.tenant_id
            WHERE u.account_id = $1 AND u.is_active ORDER BY t.name, t.id
            """,
            account_id,
        )
    return msgspec.convert(rows, list[schemas.Workspace])


async def membership(account_id: int, tenant_id: int) -> schemas.Workspace:
    """The account's active membership of `tenant_id`; 404 when it has none (whether or not the tenant exists)."""
    for workspace in await active_memberships(account_id):
        if workspace.tenant_id == tenant_id:
            return workspace
    raise ResourceNotFound("You are not a member of that workspace")


async def login_membership(account: dict[str, Any], tenant_id: int | None) -> schemas.Workspace:
    """The workspace an API login enters: `tenant_id` (its X-Tenant-ID) when given, else the account's only one.

    An account with no active membership fails like a wrong password; one in several workspaces that named none is
    told to choose, with the list of its own workspaces (nothing about any other tenant)."""
    workspaces = await active_memberships(account["id"])
    if not workspaces:
        raise AuthenticationError(INVALID_LOGIN)
    if tenant_id is not None:
        chosen = next((w for w in workspaces if w.tenant_id == tenant_id), None)
        if chosen is None:
            raise PermissionDenied(
                "X-Tenant-ID names no workspace of this account",
                details={
                    "field": "X-Tenant-ID",
                    "provided": tenant_id,
                    "tenants": [{"id": w.tenant_id, "name": w.name} for w in workspaces],
                },
            )
        return chosen
    if len(workspaces) > 1:
        raise BadRequest(
            "This account belongs to several workspaces: send X-Tenant-ID with the id of one of them",
            details={
                "field": "X-Tenant-ID",
                "expected": "The id of one of your workspaces",
                "tenants": [{"id": w.tenant_id, "name": w.name} for w in workspaces],
            },
        )
    return workspaces[0]


async def workspaces_of_member(tenant_id: int, user_id: int) -> list[schemas.Workspace]:
    """The workspaces of the account behind a member of `tenant_id` (`GET /v2/auth/workspaces`)."""
    async with tenant_transaction(tenant_id):
        row = await User.select(User.account_id).where((User.id == user_id) & (User.tenant_id == tenant_id)).first()
    if row is None:
        raise ResourceNotFound("User not found")
    return await active_memberships(row["account_id"])


async def record_login(workspace: schemas.Workspace) -> None:
    """Note when the member last logged in (the team screen shows it)."""
    async with tenant_transaction(workspace.tenant_id):
        await User.update({User.last_login_at: _now()}).where((User.id == workspace.user_id) & (User.tenant_id == workspace.tenant_id))


def workspace_choice_ticket(settings: Settings, account_id: int, email: str) -> str:
    """A short-lived proof that this account's password was just checked, so its person can pick a workspace."""
    claims = {"sub": f"account:{account_id}", "email": email}
    ticket, _, _ = issue_jwt(settings.secret_key, claims=claims, token_type="workspace_choice", ttl=WORKSPACE_CHOICE_TTL)
    return ticket


def account_of_ticket(settings: Settings, ticket: str) -> tuple[int, str] | None:
    """The account (id, e-mail) a workspace-choice ticket was issued to, or None when it is forged or expired."""
    try:
        claims = decode_jwt(settings.secret_key, ticket, "workspace_choice")
    except TokenError:
        return None
    account_id = str(claims.get("sub", "")).removeprefix("account:")
    return (int(account_id), str(claims.get("email", ""))) if account_id.isdigit() else None


async def _user_and_tenant(user_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    async with system_transaction():
        user = await User.select().where(User.id == user_id).first()
        tenant = await Tenant.select().where(Tenant.id == user["tenant_id"]).first() if user else None
    if user is None or tenant is None:
        raise AuthenticationError("Invalid or expired token")
    return user, tenant


async def issue_user_tokens(settings: Settings, user_id: int) -> schemas.TokenPair:
    """A fresh access/refresh token pair for a user."""
    user, tenant = await _user_and_tenant(user_id)
    if not user["is_active"]:  # deactivated between the check and now: no token that a reactivation could revive
        raise AuthenticationError(INVALID_LOGIN)
    claims = {"sub": str(user["id"]), "tid": tenant["id"], "role": user["role"], "gen": _generation(user["tokens_valid_after"])}
    access, _, _ = issue_jwt(settings.secret_key, claims=claims, token_type="access", ttl=settings.access_token_ttl)
    refresh, _, _ = issue_jwt(settings.secret_key, claims=claims, token_type="refresh", ttl=settings.refresh_token_ttl)
    return schemas.TokenPair(
        access_token=access,
        token_type="bearer",
        expires_in=settings.access_token_ttl,
        refresh_token=refresh,
        token=access,
        refreshToken=refresh,
        expiresIn=settings.access_token_ttl,
        tenantId=tenant["id"],
        userId=user["id"],
        user=msgspec.convert(user, schemas.User),
        tenant=msgspec.convert(tenant, schemas.Tenant),
        team=schemas.Team(id=tenant["id"], name=tenant["name"]),
    )


async def _revoke_jti(tenant_id: int, jti: str, expires_at: datetime) -> bool:
    """Revoke a token id; False when it was revoked already."""
    rows = await fetch(
        "INSERT INTO revoked_token (tenant_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT (jti) DO NOTHING RETURNING id",
        tenant_id,
        jti,
        expires_at,
    )
    return bool(rows)


def _generation(valid_after: datetime | None) -> int:
    """Which deactivation a user's tokens come after (0: never deactivated), stamped into them as `gen`."""
    return 0 if valid_after is None else int(valid_after.timestamp() * 1_000_000)


def _stale_token(claims: dict[str, Any], valid_after: datetime | None) -> bool:
    """Whether a token predates its user's last deactivation (then it stays dead after a reactivation)."""
    return int(claims.get("gen", 0)) != _generation(valid_after)


async def refresh_tokens(settings: Settings, refresh_token: str) -> schemas.TokenPair:
    """Exchange a refresh token for a new pair; the old refresh token is revoked (rotation)."""
    try:
        claims = decode_jwt(settings.secret_key, refresh_token, "refresh")
    except TokenError:
        raise AuthenticationError("Invalid or expired refresh token") from None
    user, _ = await _user_and_tenant(int(claims["sub"]))
    if not user["is_active"] or _stale_token(claims, user["tokens_valid_after"]):
        raise AuthenticationError("Invalid or expired refresh token")
    async with tenant_transaction(user["tenant_id"]):
        fresh = await _revoke_jti(user["tenant_id"], claims["jti"], datetime.fromtimestamp(claims["exp"], UTC))
    if not fresh:
        raise AuthenticationError("Invalid or expired refresh token")
    return await issue_user_tokens(settings, user["id"])


async def logout_tokens(settings: Settings, principal: Principal, refresh_token: str | None) -> None:
    """Revoke the caller's access token and, if given, its refresh token."""
    scope = TenantScope(tenant_id=principal.tenant_id, user_id=principal.user_id, actor=principal.label)
    async with tenant_transaction(scope.tenant_id):
        if principal.token_jti:
            await _revoke_jti(scope.tenant_id, principal.token_jti, _now() + timedelta(seconds=settings.access_token_ttl))
        if refresh_token:
            try:
                claims = decode_jwt(settings.secret_key, refresh_token, "refresh")
            except TokenError:
                claims = None
            if claims and int(claims.get("tid", 0)) == scope.tenant_id:
                await _revoke_jti(scope.tenant_id, claims["jti"], datetime.fromtimestamp(claims["exp"], UTC))


async def principal_for_access_token(settings: Settings, token: str) -> Principal | None:
    """The caller behind a bearer token (user JWT or OAuth client token), or None."""
    try:
        claims = decode_jwt(settings.secret_key, token, "access")
    except TokenError:
        return None
    tenant_id = int(claims.get("tid", 0))
    sub = str(claims.get("sub", ""))
    if sub.startswith("client:"):
        async with system_transaction():  # the credential names its tenant
            rows = await fetch(
                """
                SELECT c.id, t.plan, t.rate_limit, EXISTS (SELECT 1 FROM revoked_token r WHERE r.jti = $3) AS revoked
                FROM oauth_client c JOIN tenant t ON t.id = c.tenant_id
                WHERE c.client_id = $1 AND c.tenant_id = $2 AND c.revoked_at IS NULL
                """,
                sub.removeprefix("client:"),
                tenant_id,
                claims["jti"],
            )
        if not rows or rows[0]["revoked"]:
            return None
        scopes = canonical(str(claims.get("scope", "")).split())
        return Principal(
            tenant_id=tenant_id,
            plan=rows[0]["plan"],
            kind="oauth",
            credential_id=sub,
            role=INTEGRATION,
            scopes=scopes,
            token_jti=claims["jti"],
            rate_limit=rows[0]["rate_limit"],
        )
    async with system_transaction():  # the credential names its tenant
        rows = await fetch(
            """
            SELECT u.id, u.email, u.role, u.is_active, u.tokens_valid_after, t.plan, t.rate_limit,
                   EXISTS (SELECT 1 FROM revoked_token r WHERE r.jti = $3) AS revoked
            FROM app_user u JOIN tenant t ON t.id = u.tenant_id WHERE u.id = $1 AND u.tenant_id = $2
            """,
            int(sub) if sub.isdigit() else 0,
            tenant_id,
            claims["jti"],
        )
    if not rows or rows[0]["revoked"] or not rows[0]["is_active"] or _stale_token(claims, rows[0]["tokens_valid_after"]):
        return None
    row = rows[0]
    return Principal(
        tenant_id=tenant_id,
        plan=row["plan"],
        kind="jwt",
        credential_id=f"user:{row['id']}",
        role=row["role"],
        user_id=row["id"],
        email=row["email"],
        scopes=EVERYTHING,
        token_jti=claims["jti"],
        rate_limit=row["rate_limit"],
    )


async def principal_for_api_key(plaintext: str) -> Principal | None:
    """The integration behind an API key, or None (unknown, malformed or revoked)."""
    prefix = api_key_prefix(plaintext)
    if prefix is None:
        return None
    async with system_transaction():  # the credential names its tenant
        rows = await fetch(
            """
            SELECT k.id, k.tenant_id, k.key_hash, k.scopes, k.revoked_at, t.plan, t.rate_limit,
                   k.last_used_at IS NULL OR k.last_used_at < now() - interval '60 seconds' AS touch
            FROM api_key k JOIN tenant t ON t.id = k.tenant_id WHERE k.prefix = $1
            """,
            prefix,
        )
    if not rows or rows[0]["revoked_at"] is not None:
        return None
    row = rows[0]
    if not await verify_api_key(row["id"], row["key_hash"], plaintext):
        return None
    # Touch last-used at most once a minute per key, so reads do not turn into a write each.
    if row["touch"]:
        async with tenant_transaction(row["tenant_id"]):
            await ApiKey.update({ApiKey.last_used_at: _now()}).where(ApiKey.id == row["id"])
    return Principal(
        tenant_id=row["tenant_id"],
        plan=row["plan"],
        kind="api_key",
        credential_id=f"key:{row['id']}",
        role=INTEGRATION,
        scopes=canonical(row["scopes"].split()),
        rate_limit=row["rate_limit"],
    )


# --------------------------------------------------------------------------- browser sessions


async def create_session(workspace: schemas.Workspace, settings: Settings, *, ip: str, user_agent: str) -> str:
    """Start a server-side session for a member; returns the cookie token (a new id at every login or switch)."""
    token = new_token(32)
    async with tenant_transaction(workspace.tenant_id):
        await UserSession.insert(
            UserSession(
                tenant_id=workspace.tenant_id,
                user_id=workspace.user_id,
                token_hash=sha256_hex(token),
                expires_at=_now() + timedelta(seconds=settings.session_ttl),
                ip=ip[:64],
                user_agent=user_agent[:300],
            )
        )
        await User.update({User.last_login_at: _now()}).where((User.id == workspace.user_id) & (User.tenant_id == workspace.tenant_id))
    return token


async def principal_for_session(token: str) -> Principal | None:
    """The user behind a session cookie, or None when it is unknown, expired or the user is inactive."""
    async with system_transaction():  # the credential names its tenant
        rows = await fetch(
            """
            SELECT s.id AS session_id, u.id, u.email, u.role, u.is_active, u.tenant_id, u.account_id, t.plan, t.name AS tenant_name,
                   COALESCE(u.time_zone, t.time_zone) AS time_zone, u.locale
            FROM user_session s JOIN app_user u ON u.id = s.user_id JOIN tenant t ON t.id = s.tenant_id
            WHERE s.token_hash = $1 AND s.expires_at > now()
            """,
            sha256_hex(token),
        )
    if not rows or not rows[0]["is_active"]:
        return None
    row = rows[0]
    return Principal(
        tenant_id=row["tenant_id"],
        plan=row["plan"],
        kind="session",
        credential_id=f"session:{row['session_id']}",
        role=row["role"],
        user_id=row["id"],
        email=row["email"],
        scopes=EVERYTHING,
        time_zone=row["time_zone"],
        locale=row["locale"],
        account_id=row["account_id"],
        tenant_name=row["tenant_name"],
    )


async def end_session(token: str) -> None:
    """Delete a session (logout)."""
    async with system_transaction():
        await UserSession.delete().where(UserSession.token_hash == sha256_hex(token))


# --------------------------------------------------------------------------- users of a tenant


async def list_users(scope: TenantScope, query: ListQuery, *, active: bool | None = None) -> Page[schemas.User]:
    """A page of the tenant's users (the team screen and `GET /v2/users`)."""
    policy.VIEW_TEAM.require(scope)
    async with tenant_transaction(scope.tenant_id):
        select = User.select(*User.all_columns(exclude=[User.account_id])).where(User.tenant_id == scope.tenant_id)
        count = User.count().where(User.tenant_id == scope.tenant_id)
        if active is not None:
            select, count = select.where(User.is_active == active), count.where(User.is_active == active)
        rows = await sort_order(query.sort, USER_SORTS, "created_at").apply(select).limit(query.limit).offset(query.offset)
        total = await count
    return page_of(schemas.User, rows, query, total)


async def team_size(scope: TenantScope) -> int:
    """How many active people the tenant has (every member may know)."""
    async with tenant_transaction(scope.tenant_id):
        count: int = await User.count().where((User.tenant_id == scope.tenant_id) & (User.is_active == True))  # noqa: E712
    return count


async def team_members(scope: TenantScope) -> list[schemas.User]:
    """The tenant's active people by name, for pickers (assign to, filter by agent): every member may see them."""
    async with tenant_transaction(scope.tenant_id):
        rows = (
            await User.select(*User.all_columns(exclude=[User.account_id]))
            .where((User.tenant_id == scope.tenant_id) & (User.is_active == True))  # noqa: E712 - SQL, not Python truth
            .order_by(User.full_name)
            .order_by(User.id)
            .limit(1000)
        )
    return msgspec.convert(rows, list[schemas.User])


async def get_user(scope: TenantScope, user_id: int) -> schemas.User:
    """One user of the tenant (404 for any other tenant's id)."""
    async with tenant_transaction(scope.tenant_id):
        row = await User.select().where((User.id == user_id) & (User.tenant_id == scope.tenant_id)).first()
    if row is None:
        raise ResourceNotFound("User not found")
    return msgspec.convert(row, schemas.User)


# --------------------------------------------------------------------------- invitations


def _invitation_columns() -> list[Any]:
    return Invitation.all_columns(exclude=[Invitation.token_hash, Invitation.tenant_id, Invitation.accepted_by])


async def create_invitation(scope: TenantScope, data: schemas.InvitationCreate) -> tuple[schemas.Invitation, str]:
    """Invite an address to the tenant; returns the invitation and its link's token (shown or sent once, kept hashed).

    Nothing here looks beyond the tenant: the answer is the same whether or not the address has an Atrium account
    elsewhere. Only an address already on this team is refused (the admin sees the team anyway). Inviting an
    address again replaces its pending invitation (the old link stops working)."""
    policy.MANAGE_USERS.require(scope)
    email = normalise_email(data.email)
    token = new_token(32)
    full_name = data.full_name.strip() if data.full_name is not UNSET else ""
    async with tenant_transaction(scope.tenant_id):
        if await User.exists().where((User.tenant_id == scope.tenant_id) & (User.email == email)):
            raise Conflict(
                "This address is already a member of this team",
                details={"field": "email", "provided": email},
                human="This address is already on your team (reactivate them below if they were deactivated)",
            )
        await Invitation.delete().where(
            (Invitation.tenant_id == scope.tenant_id) & (Invitation.email == email) & Invitation.accepted_at.is_null()
        )
        rows = await Invitation.insert(
            Invitation(
                tenant_id=scope.tenant_id,
                email=email,
                full_name=full_name,
                role=data.role,
                token_hash=sha256_hex(token),
                invited_by=scope.user_id,
                expires_at=_now() + INVITATION_TTL,
            )
        ).returning(*_invitation_columns())
        await audit(scope, Subject("invitation", rows[0]["id"]), "user.invited", {"email": email, "role": data.role})
    return msgspec.convert(rows[0], schemas.Invitation), token


def invitation_url(token: str) -> str:
    """The link that accepts an invitation."""
    return f"{base_url()}/invitations/{token}"


async def invite_user(scope: TenantScope, data: schemas.InvitationCreate) -> schemas.InvitationCreated:
    """Invite a person (`POST /v2/users`, the Team screen): the link is e-mailed when the operator configured a mail
    server, otherwise returned for the admin to pass on. Either way the answer does not depend on the address."""
    from app.events.mail import send_to_address

    invitation, token = await create_invitation(scope, data)
    if not current().smtp_url:
        return schemas.InvitationCreated(**msgspec.structs.asdict(invitation), accept_url=invitation_url(token), emailed=False)
    tenant = await get_tenant(scope)
    await send_to_address(
        invitation.email,
        f"You are invited to {tenant.name} on Atrium",
        f"{scope.actor or 'An admin'} invited you to join {tenant.name} on Atrium as {invitation.role}.\n\n"
        f"Accept within 7 days: {invitation_url(token)}\n\n"
        "If you already use Atrium with this address, you join with your password; otherwise you choose one.\n",
    )
    return schemas.InvitationCreated(**msgspec.structs.asdict(invitation), accept_url=None, emailed=True)


async def list_invitations(scope: TenantScope, query: ListQuery) -> Page[schemas.Invitation]:
    """The tenant's invitations not yet accepted (expired ones included, so an admin sees to invite again)."""
    policy.VIEW_TEAM.require(scope)
    pending = (Invitation.tenant_id == scope.tenant_id) & Invitation.accepted_at.is_null()
    async with tenant_transaction(scope.tenant_id):
        rows = (
            await sort_order(query.sort, INVITATION_SORTS, "-created_at")
            .apply(Invitation.select(*_invitation_columns()).where(pending))
            .limit(query.limit)
            .offset(query.offset)
        )
        total = await Invitation.count().where(pending)
    return page_of(schemas.Invitation, rows, query, total)


async def get_invitation(scope: TenantScope, invitation_id: int) -> schemas.Invitation:
    """One invitation of the tenant, pending or accepted (404 for any other tenant's id)."""
    policy.VIEW_TEAM.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = (
            await Invitation.select(*_invitation_columns())
            .where((Invitation.id == invitation_id) & (Invitation.tenant_id == scope.tenant_id))
            .first()
        )
    if row is None:
        raise ResourceNotFound("Invitation not found")
    return msgspec.convert(row, schemas.Invitation)


async def revoke_invitation(scope: TenantScope, invitation_id: int) -> None:
    """Withdraw a pending invitation: its link stops working (404 for accepted ones and other tenants' ids)."""
    policy.MANAGE_USERS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = (
            await Invitation.delete()
            .where((Invitation.id == invitation_id) & (Invitation.tenant_id == scope.tenant_id) & Invitation.accepted_at.is_null())
            .returning(Invitation.email)
        )
        if not rows:
            raise ResourceNotFound("Invitation not found")
        await audit(scope, Subject("invitation", invitation_id), "user.invitation_revoked", {"email": rows[0]["email"]})


async def open_invitation(token: str) -> schemas.InvitationOpened | None:
    """The pending, unexpired invitation behind a link's token, with its workspace's name, or None."""
    async with system_transaction():
        rows = await fetch(
            """
            SELECT i.id, i.tenant_id, t.name AS tenant_name, i.email, i.full_name, i.role, i.expires_at,
                   coalesce(u.full_name, '') AS invited_by_name
            FROM invitation i JOIN tenant t ON t.id = i.tenant_id LEFT JOIN app_user u ON u.id = i.invited_by
            WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.expires_at > now()
            """,
            sha256_hex(token),
        )
    return msgspec.convert(rows[0], schemas.InvitationOpened) if rows else None


async def accept_invitation(
    token: str, password: str, full_name: str | None = None, *, ip: str = "", user_agent: str = ""
) -> schemas.Workspace:
    """Join the invitation's workspace; returns the new membership.

    When the invited address has an Atrium account, `password` must be its password (checked and throttled as a
    login); otherwise an account is created with it (and `full_name`, else the name the admin gave). Either way the
    link itself is the proof of the address, so whoever holds it may learn which case it was: the link is sent to
    the address, or handed over by the admin who could add the address anyway."""
    invitation = await open_invitation(token)
    if invitation is None:
        raise ResourceNotFound(INVALID_INVITATION)
    async with system_transaction():
        existing = await Account.select(Account.id).where(Account.email == invitation.email).first()
    created = False
    if existing is not None:
        account = await authenticate_password(invitation.email, password, ip)
    else:
        name = (full_name or "").strip() or invitation.full_name or invitation.email.split("@")[0]
        password_hash = await hash_secret_async(new_password(password))
        try:
            async with system_transaction():
                rows = await Account.insert(Account(email=invitation.email, full_name=name[:200], password_hash=password_hash)).returning(
                    Account.id
                )
        except UniqueViolationError:  # created a moment ago by a registration or another acceptance: try again as a login
            raise Conflict("This address has just got an Atrium account: enter its password to join") from None
        account, created = {"id": rows[0]["id"], "email": invitation.email, "full_name": name[:200]}, True
    member_name = (full_name or "").strip() or invitation.full_name or account["full_name"]
    scope = TenantScope(tenant_id=invitation.tenant_id, actor=invitation.email, ip=ip, user_agent=user_agent[:300])
    try:
        async with tenant_transaction(invitation.tenant_id):
            claimed = await fetch(
                "UPDATE invitation SET accepted_at = now() WHERE id = $1 AND accepted_at IS NULL AND expires_at > now() RETURNING id",
                invitation.id,
            )
            if not claimed:
                raise ResourceNotFound(INVALID_INVITATION)
            if await User.exists().where((User.tenant_id == invitation.tenant_id) & (User.account_id == account["id"])):
                raise Conflict("You are already a member of this workspace")
            users = await User.insert(
                User(
                    tenant_id=invitation.tenant_id,
                    account_id=account["id"],
                    email=invitation.email,
                    full_name=member_name[:200],
                    role=invitation.role,
                )
            ).returning(User.id)
            await Invitation.update({Invitation.accepted_by: users[0]["id"]}).where(Invitation.id == invitation.id)
            scope = TenantScope(
                tenant_id=invitation.tenant_id,
                user_id=users[0]["id"],
                role=invitation.role,
                actor=invitation.email,
                ip=ip,
                user_agent=user_agent[:300],
            )
            await audit(
                scope,
                Subject("user", users[0]["id"]),
                "user.joined",
                {"email": invitation.email, "role": invitation.role, "new_account": created},
            )
    except BaseException:
        if created:  # the account goes with the failed acceptance, unless another one joined with it meanwhile
            async with system_transaction():
                await fetch(
                    "DELETE FROM account a WHERE a.id = $1 AND NOT EXISTS (SELECT 1 FROM app_user u WHERE u.account_id = a.id)",
                    account["id"],
                )
        raise
    return schemas.Workspace(tenant_id=invitation.tenant_id, name=invitation.tenant_name, user_id=users[0]["id"], role=invitation.role)


async def update_user(scope: TenantScope, user_id: int, data: schemas.UserUpdate, *, if_match: str | None = None) -> schemas.User:
    """Change a user's name, role or active flag. Deactivation ends the user's sessions.

    `if_match` (an ETag) is compared with the row locked, so two writers cannot both pass it.
    """
    policy.MANAGE_USERS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        current = await User.select().where((User.id == user_id) & (User.tenant_id == scope.tenant_id)).lock_rows("UPDATE").first()
        if current is None:
            raise ResourceNotFound("User not found")
        require_current(if_match, msgspec.convert(current, schemas.User))
        values: dict[Any, Any] = {}
        if data.full_name is not UNSET:
            values[User.full_name] = data.full_name.strip()
        if data.role is not UNSET and data.role != current["role"]:
            values[User.role] = data.role
        if data.is_active is not UNSET and data.is_active != current["is_active"]:
            values[User.is_active] = data.is_active
        demoting_self = user_id == scope.user_id and (User.role in values or values.get(User.is_active) is False)
        if demoting_self:
            raise Conflict("You cannot remove your own admin access", details={"id": user_id})
        if (values.get(User.role, "admin") != "admin" or values.get(User.is_active) is False) and current["role"] == "admin":
            # Lock every active admin row so two demotions at once cannot leave the tenant without one.
            admins = await fetch(
                "SELECT id FROM app_user WHERE tenant_id = $1 AND role = 'admin' AND is_active ORDER BY id FOR UPDATE", scope.tenant_id
            )
            if len(admins) <= 1:
                raise Conflict("A tenant needs at least one active admin", details={"id": user_id})
        if values:
            await User.update(values).where(User.id == user_id)
        if User.role in values:
            await audit(scope, Subject("user", user_id), "user.role_changed", {"from": current["role"], "to": data.role})
        if User.is_active in values:
            action = "user.reactivated" if data.is_active else "user.deactivated"
            await audit(scope, Subject("user", user_id), action, {"email": current["email"]})
            if not data.is_active:
                await UserSession.delete().where(UserSession.user_id == user_id)
                await User.update({User.tokens_valid_after: _now()}).where(User.id == user_id)
        row = await User.select().where(User.id == user_id).first()
    return msgspec.convert(row, schemas.User)


# --------------------------------------------------------------------------- API keys


async def list_api_keys(scope: TenantScope, query: ListQuery, *, include_revoked: bool = True) -> Page[schemas.ApiKey]:
    """A page of the tenant's API keys (never their secrets)."""
    policy.MANAGE_CREDENTIALS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        select = ApiKey.select(*ApiKey.all_columns(exclude=[ApiKey.key_hash])).where(ApiKey.tenant_id == scope.tenant_id)
        count = ApiKey.count().where(ApiKey.tenant_id == scope.tenant_id)
        if not include_revoked:
            select, count = select.where(ApiKey.revoked_at.is_null()), count.where(ApiKey.revoked_at.is_null())
        rows = await sort_order(query.sort, KEY_SORTS, "-created_at").apply(select).limit(query.limit).offset(query.offset)
        total = await count
    return page_of(schemas.ApiKey, rows, query, total)


async def create_api_key(scope: TenantScope, data: schemas.ApiKeyCreate) -> schemas.ApiKeyCreated:
    """Create a key; its plaintext is returned this once and only its hash is stored."""
    policy.MANAGE_CREDENTIALS.require(scope)
    scopes = api_key_scopes(data.permission, None if data.resources is UNSET else data.resources)
    generated = generate_api_key(data.mode)
    key_hash = await hash_secret_async(generated.plaintext)
    async with tenant_transaction(scope.tenant_id):
        rows = await ApiKey.insert(
            ApiKey(
                tenant_id=scope.tenant_id,
                name=data.name.strip(),
                prefix=generated.prefix,
                key_hash=key_hash,
                mode=data.mode,
                permission=data.permission,
                scopes=scopes,
                created_by=scope.user_id,
            )
        ).returning(*ApiKey.all_columns(exclude=[ApiKey.key_hash]))
        await audit(
            scope,
            Subject("api_key", rows[0]["id"]),
            "api_key.created",
            {"name": data.name, "permission": data.permission, "scopes": scopes, "prefix": generated.prefix},
        )
    return msgspec.convert({**rows[0], "key": generated.plaintext}, schemas.ApiKeyCreated)


def api_key_scopes(permission: str, resources: list[str] | None) -> str:
    """A key's canonical scopes: `permission` (read or write) on `resources` (None or `*`: every resource)."""
    known = api_resources()
    chosen = sorted(set(resources or [ANY]))
    for name in chosen:
        if name != ANY and name not in known:
            raise ValidationFailed(
                f"Invalid resources: unknown API resource {name!r}",
                details={"field": "resources", "provided": name, "expected": "any of: * " + " ".join(known)},
                human=f"{name!r} is not a part of the API",
            )
    if ANY in chosen:
        chosen = [ANY]
    levels = ("read", "write") if permission == "write" else ("read",)
    return render({f"{name}:{level}" for name in chosen for level in levels})


async def revoke_api_key(scope: TenantScope, key_id: int) -> schemas.ApiKey:
    """Revoke a key at once; revoking twice is harmless."""
    policy.MANAGE_CREDENTIALS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = (
            await ApiKey.select(*ApiKey.all_columns(exclude=[ApiKey.key_hash]))
            .where((ApiKey.id == key_id) & (ApiKey.tenant_id == scope.tenant_id))
            .first()
        )
        if row is None:
            raise ResourceNotFound("API key not found")
        if row["revoked_at"] is None:
            await ApiKey.update({ApiKey.revoked_at: _now()}).where(ApiKey.id == key_id)
            await audit(scope, Subject("api_key", key_id), "api_key.revoked", {"name": row["name"], "prefix": row["prefix"]})
            row = await ApiKey.select(*ApiKey.all_columns(exclude=[ApiKey.key_hash])).where(ApiKey.id == key_id).first()
    return msgspec.convert(row, schemas.ApiKey)


# --------------------------------------------------------------------------- OAuth clients


async def list_oauth_clients(scope: TenantScope) -> list[schemas.OAuthClient]:
    """The tenant's OAuth clients (never their secrets)."""
    policy.MANAGE_CREDENTIALS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        rows = (
            await OAuthClient.select(*OAuthClient.all_columns(exclude=[OAuthClient.secret_hash]))
            .where(OAuthClient.tenant_id == scope.tenant_id)
            .order_by(OAuthClient.id)
        )
    return msgspec.convert(rows, list[schemas.OAuthClient])


async def create_oauth_client(scope: TenantScope, data: schemas.OAuthClientCreate) -> schemas.OAuthClientCreated:
    """Create a client-credentials client; the secret is returned this once."""
    policy.MANAGE_CREDENTIALS.require(scope)
    client_id = "atr_client_" + secrets.token_hex(8)
    secret = new_token(32)
    secret_hash = await hash_secret_async(secret)
    scopes = render(canonical(parse(data.scopes, api_resources(), field="scopes")))
    async with tenant_transaction(scope.tenant_id):
        rows = await OAuthClient.insert(
            OAuthClient(
                tenant_id=scope.tenant_id,
                name=data.name.strip(),
                client_id=client_id,
                secret_hash=secret_hash,
                scopes=scopes,
                created_by=scope.user_id,
            )
        ).returning(*OAuthClient.all_columns(exclude=[OAuthClient.secret_hash]))
        await audit(scope, Subject("oauth_client", rows[0]["id"]), "oauth_client.created", {"client_id": client_id, "scopes": scopes})
    return msgspec.convert({**rows[0], "client_secret": secret}, schemas.OAuthClientCreated)


async def revoke_oauth_client(scope: TenantScope, client_pk: int) -> schemas.OAuthClient:
    """Revoke a client; tokens it holds stop working at once."""
    policy.MANAGE_CREDENTIALS.require(scope)
    async with tenant_transaction(scope.tenant_id):
        row = (
            await OAuthClient.select(*OAuthClient.all_columns(exclude=[OAuthClient.secret_hash]))
            .where((OAuthClient.id == client_pk) & (OAuthClient.tenant_id == scope.tenant_id))
            .first()
        )
        if row is None:
            raise ResourceNotFound("OAuth client not found")
        if row["revoked_at"] is None:
            row["revoked_at"] = _now()
            await OAuthClient.update({OAuthClient.revoked_at: row["revoked_at"]}).where(OAuthClient.id == client_pk)
            await audit(scope, Subject("oauth_client", client_pk), "oauth_client.revoked", {"client_id": row["client_id"]})
    return msgspec.convert(row, schemas.OAuthClient)


async def client_credentials_token(
    settings: Settings, client_id: str, client_secret: str, requested_scope: str | None
) -> schemas.OAuthToken:
    """RFC 6749 §4.4: exchange client credentials for an access token with the granted scopes."""
    async with system_transaction():
        row = await OAuthClient.select().where(OAuthClient.client_id == client_id).first()
    stored = row["secret_hash"] if row else dummy_hash()
    if not await verify_secret_async(stored, client_secret) or row is None or row["revoked_at"] is not None:
        raise AuthenticationError("Invalid client credentials", details={"error": "invalid_client"})
    allowed = canonical(row["scopes"].split())
    # RFC 6749 §3.3/§5.2: an unknown scope, or one beyond the client's, refuses the request (invalid_scope)
    # rather than narrowing it silently; no scope asked for grants the client's own.
    try:
        wanted = parse(requested_scope or "", api_resources())
    except ValidationFailed as exc:
        raise BadRequest(exc.message, details={**exc.details, "error": "invalid_scope"}) from None
    if not covers(allowed, canonical(wanted)):
        raise BadRequest(
            "Requested scope exceeds the client's scopes",
            details={
                "field": "scope",
                "provided": requested_scope,
                "expected": f"scopes within: {row['scopes']}",
                "error": "invalid_scope",
            },
        )
    granted = " ".join(wanted) or row["scopes"]
    token, _, _ = issue_jwt(
        settings.secret_key,
        claims={"sub": f"client:{client_id}", "tid": row["tenant_id"], "scope": granted},
        token_type="access",
        ttl=settings.access_token_ttl,
    )
    return schemas.OAuthToken(access_token=token, token_type="Bearer", expires_in=settings.access_token_ttl, scope=granted)
