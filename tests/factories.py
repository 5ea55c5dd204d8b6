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

    async def add_user(self, admin: Account, role: str) -> Account:
        """A user with `role` in the admin's tenant, logged in."""
        n = next(_seq)
        email = f"{role}{n}@tenant{admin.tenant_id}.example.com"
        created = await self.client.post(
            "/v2/users", headers=admin.auth, json={"email": email, "password": PASSWORD, "full_name": f"{role.title()} {n}", "role": role}
        )
        assert created.status_code == 201, created.text
        return await self.login(email, role=role)

    async def login(self, email: str, password: str = PASSWORD, role: str = "") -> Account:
        """Log in through the API."""
        response = await self.client.post("/v2/auth/login", json={"email": email, "password": password})
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
        user = await accounts.create_user(
            scopes["admin"],
            account_schemas.UserCreate(email=f"{role}@{name}.example.com", password=PASSWORD, full_name=role.title(), role=role),  # type: ignore[arg-type]
        )
        scopes[role] = TenantScope(tenant_id=tenant.id, user_id=user.id, role=role, actor=user.email)
    return scopes
