"""The --demo tenant: a realistic team to click through. Loading it twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from app.accounts import schemas
from app.accounts import service as accounts
from app.accounts.tables import User
from app.db import TenantScope, system_transaction

DEMO_EMAIL = "admin@demo.atrium.test"
DEMO_PASSWORD = "atrium-demo-2026"
DEMO_TEAM = [
    ("Maya Brooks", "manager@demo.atrium.test", "manager"),
    ("Omar Haddad", "agent@demo.atrium.test", "agent"),
    ("Lena Novak", "agent2@demo.atrium.test", "agent"),
    ("Priya Raman", "support@demo.atrium.test", "support"),
    ("Tom Okafor", "finance@demo.atrium.test", "finance"),
]


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """What to print so a person can log in."""

    email: str
    password: str
    tenant_id: int
    created: bool


async def load_demo_tenant() -> DemoLogin:
    """Create the demo tenant, its admin and a user for every role (once)."""
    async with system_transaction():
        existing = await User.select(User.tenant_id).where(User.email == DEMO_EMAIL).first()
    if existing is not None:
        return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, existing["tenant_id"], created=False)
    tenant, admin = await accounts.register_tenant(
        schemas.RegisterRequest(email=DEMO_EMAIL, password=DEMO_PASSWORD, full_name="Alex Demo", tenant_name="Demo Realty"),
        plan="professional",
    )
    scope = TenantScope(tenant_id=tenant.id, user_id=admin.id, role="admin", actor=admin.email)
    for full_name, email, role in DEMO_TEAM:
        await accounts.create_user(scope, schemas.UserCreate(email=email, password=DEMO_PASSWORD, full_name=full_name, role=role))  # type: ignore[arg-type]
    return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, tenant.id, created=True)
