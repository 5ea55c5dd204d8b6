"""Tables of people (global accounts, their memberships of tenants, invitations) and the credentials that act for them."""

from __future__ import annotations

from piccolo.columns import (
    BigSerial,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tenancy.tables import Tenant


class Account(Table, tablename="account"):
    """A person's login, global to the installation: one e-mail address and one password, whatever tenants
    the person works in (their memberships are `app_user` rows). Only system transactions read it."""

    id = BigSerial(primary_key=True)
    email = Varchar(length=254, unique=True)
    full_name = Varchar(length=200, default="")  # the name they gave themselves; each membership keeps its own
    password_hash = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class User(Table, tablename="app_user"):
    """A person's membership of a tenant: their role, name and state there (every tenant's foreign keys point here).

    `email` is the account's address, copied so the tenant's own screens read it under row-level security
    (an account's address never changes). One member per account and tenant.
    """

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False, index=True)
    account_id = ForeignKey(references=Account, on_delete=OnDelete.cascade, null=False, index=True)
    email = Varchar(length=254)
    full_name = Varchar(length=200, default="")
    role = Varchar(length=20, default="agent")
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)
    time_zone = Varchar(length=64, null=True, default=None)  # an IANA zone; None: the tenant's
    locale = Varchar(length=20, null=True, default=None)  # dates and numbers on screens (app.core.locales); None: the browser's
    # Tokens issued before this are dead for good (set on deactivation, so reactivating revives none of them).
    tokens_valid_after = Timestamptz(null=True, default=None)


class Invitation(Table, tablename="invitation"):
    """An admin's invitation of an address to the tenant: only the SHA-256 of its link's token is kept."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False, index=True)
    email = Varchar(length=254)
    full_name = Varchar(length=200, default="")
    role = Varchar(length=20, default="agent")
    token_hash = Varchar(length=64, unique=True)
    invited_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    accepted_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)


class ApiKey(Table, tablename="api_key"):
    """An integrator's key: only its lookup prefix and an argon2id hash of the whole key are kept.

    `scopes` (canonical, app.core.scopes) is what the key may do; `permission` (read or write) is
    the key type the admin chose, kept for display: the scopes were derived from it at creation.
    """

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=100)
    prefix = Varchar(length=40, unique=True)
    key_hash = Text()
    mode = Varchar(length=10, default="live")
    permission = Varchar(length=10, default="read")
    scopes = Text(default="*:read")
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class OAuthClient(Table, tablename="oauth_client"):
    """A machine client using the OAuth 2.0 client-credentials grant."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=100)
    client_id = Varchar(length=64, unique=True)
    secret_hash = Text()
    scopes = Text(default="*:read")  # canonical scopes it may request (app.core.scopes)
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class UserSession(Table, tablename="user_session"):
    """A browser session, stored server-side; the cookie carries a token whose SHA-256 is the key."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False, index=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, null=False, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=300, default="")


class RevokedToken(Table, tablename="revoked_token"):
    """JWT ids revoked before their expiry (logout, refresh rotation)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False, index=True)
    jti = Varchar(length=64, unique=True)
    expires_at = Timestamptz()


class LoginThrottle(Table, tablename="login_throttle"):
    """Failed-login counter per account name (also for names that match no user)."""

    id = BigSerial(primary_key=True)
    account = Varchar(length=254, unique=True)
    failures = Integer(default=0)
    window_started_at = Timestamptz(default=TimestamptzNow())
    locked_until = Timestamptz(null=True, default=None)
