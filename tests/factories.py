"""Factories that build test data through the public API, as an integrator or admin would."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

PASSWORD = "correct horse battery"
# Many plain leads for one tenant at once ($1 tenant id, $2 how many), straight into the table.
BULK_LEADS_SQL = """
INSERT INTO lead (tenant_id, name, phone, source, language, status, budget_currency, preferred_locations,
                  hotness_score, temperature, score_factors, score_confidence, message_count, voice_messages_sent,
                  images_uploaded, conversation_data, custom_fields, notes, created_at, updated_at, ghost_reminder_sent)
SELECT $1, 'Lead ' || g, '+9715' || lpad(g::text, 8, '0'), 'import', 'en', 'NEW', 'AED', '{}', 0, 'cold', '{}', 0,
       0, 0, 0, '{}', '{}', '', now() - g * interval '1 second', now(), false
FROM generate_series(1, $2) g
"""
_seq = itertools.count(1)


@dataclass
class Account:
    """A logged-in user of a tenant."""

    tenant_id: int
    user_id: int
    email: str
    role: str
    token: str
    refresh_token: str
    password: str = PASSWORD
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        """Bearer headers for this user."""
        return {"Authorization": f"Bearer {self.token}"}


class Tenants:
    """Create tenants, users and keys via /v2."""

    def __init__(self, client: httpx.AsyncClient, dsn: str) -> None:
        self.client = client
        self.dsn = dsn

    async def create(self, name: str | None = None, plan: str = "starter") -> Account:
        """A new tenant and its logged-in admin; a plan other than starter is set as an operator would."""
        n = next(_seq)
        email = f"admin{n}@tenant{n}.example.com"
        response = await self.client.post(
            "/v2/auth/register", json={"email": email, "password": PASSWORD, "tenant_name": name or f"Tenant {n}"}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        if plan != "starter":
            conn = await asyncpg.connect(self.dsn)
            try:
                await conn.execute("UPDATE tenant SET plan = $1 WHERE id = $2", plan, body["tenantId"])
            finally:
                await conn.close()
        return Account(body["tenantId"], body["userId"], email, "admin", body["access_token"], body["refresh_token"])

    async def invite(self, admin: Account, email: str, role: str = "agent", full_name: str | None = None) -> dict[str, Any]:
        """Invite `email` to the admin's tenant through the API; returns the invitation (with its `accept_url`)."""
        body: dict[str, Any] = {"email": email, "role": role}
        if full_name is not None:
            body["full_name"] = full_name
        created = await self.client.post("/v2/users", headers=admin.auth, json=body)
        assert created.status_code == 201, created.text
        return dict(created.json())

    async def accept(self, invitation: dict[str, Any], password: str = PASSWORD, full_name: str | None = None) -> httpx.Response:
        """Accept an invitation through the API (`password`: the existing account's, or the new one's)."""
        body: dict[str, Any] = {"token": invitation["accept_url"].rsplit("/", 1)[1], "password": password}
        if full_name is not None:
            body["full_name"] = full_name
        return await self.client.post("/v2/auth/accept-invitation", json=body)

    async def add_user(self, admin: Account, role: str) -> Account:
        """A new person with `role` in the admin's tenant (invited, joined), logged in."""
        n = next(_seq)
        email = f"{role}{n}@tenant{admin.tenant_id}.example.com"
        invitation = await self.invite(admin, email, role, f"{role.title()} {n}")
        joined = await self.accept(invitation)
        assert joined.status_code == 200, joined.text
        body = joined.json()
        return Account(body["tenantId"], body["userId"], email, role, body["access_token"], body["refresh_token"])

    async def login(self, email: str, password: str = PASSWORD, role: str = "", tenant_id: int | None = None) -> Account:
        """Log in through the API (into `tenant_id`, for a person in several workspaces)."""
        headers = {"X-Tenant-ID": str(tenant_id)} if tenant_id is not None else {}
        response = await self.client.post("/v2/auth/login", json={"email": email, "password": password}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return Account(body["tenantId"], body["userId"], email, role or body["user"]["role"], body["access_token"], body["refresh_token"])

    async def api_key(
        self, admin: Account, permission: str = "read", mode: str = "live", resources: list[str] | None = None
    ) -> tuple[int, str]:
        """Create an API key (for every API resource unless `resources` are named); returns (id, plaintext)."""
        body: dict[str, Any] = {"name": f"{permission} key", "permission": permission, "mode": mode}
        if resources is not None:
            body["resources"] = resources
        response = await self.client.post("/v2/api-keys", headers=admin.auth, json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"], response.json()["key"]


async def make_lead(client: httpx.AsyncClient, who: Account, **fields: object) -> dict[str, object]:
    """A lead created through the API by `who` (name "Lead" unless given)."""
    body = {"name": "Lead", **fields}
    response = await client.post("/v2/leads", headers=who.auth, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def upload(client: httpx.AsyncClient, auth: dict[str, str], text: str, kind: str = "leads") -> httpx.Response:
    """Upload a CSV to the import API."""
    return await client.post("/v2/imports", headers=auth, files={"file": ("leads.csv", text.encode(), "text/csv")}, data={"kind": kind})


async def service_tenant(name: str, *roles: str) -> dict[str, Any]:
    """A tenant made through the accounts service (no HTTP): {"admin": scope, role: scope, …} for service tests."""
    from app.accounts import schemas as account_schemas
    from app.accounts import service as accounts
    from app.db import TenantScope

    data = account_schemas.RegisterRequest(email=f"admin@{name}.example.com", password=PASSWORD, tenant_name=name)
    tenant, admin = await accounts.register_tenant(data)
    scopes: dict[str, Any] = {"admin": TenantScope(tenant_id=tenant.id, user_id=admin.id, role="admin", actor=admin.email)}
    for role in roles:
        email = f"{role}@{name}.example.com"
        _, token = await accounts.create_invitation(
            scopes["admin"],
            account_schemas.InvitationCreate(email=email, full_name=role.title(), role=role),  # type: ignore[arg-type]
        )
        member = await accounts.accept_invitation(token, PASSWORD)
        scopes[role] = TenantScope(tenant_id=tenant.id, user_id=member.user_id, role=role, actor=email)
    return scopes
