"""Users of an installation made before accounts were global become one account and one membership each."""

from __future__ import annotations

import subprocess
import sys

import asyncpg

from tests.helpers import atrium_command, create_database, process_env

# The last migration before accounts, memberships and invitations.
BEFORE_ACCOUNTS = "2026-12-01T13:37:53:735689"
MIGRATE_UP_TO = """
import asyncio, sys
from piccolo.apps.migrations.commands.forwards import run_forwards
from app.db import configure_engine
configure_engine(sys.argv[1])
result = asyncio.run(run_forwards(app_name="atrium", migration_id=sys.argv[2]))
sys.exit(0 if result.success else 1)
"""


async def test_existing_users_become_accounts_with_one_membership_each(migrated: str) -> None:
    dsn = await create_database(migrated, "atrium_members_migration")
    env = process_env(DATABASE_URL=dsn, SECRET_KEY="migration-test-secret-0123456789abcdef")
    before = subprocess.run(
        [sys.executable, "-c", MIGRATE_UP_TO, dsn, BEFORE_ACCOUNTS], env=env, capture_output=True, text=True, timeout=120
    )
    assert before.returncode == 0, before.stdout + before.stderr
    conn = await asyncpg.connect(dsn)
    try:
        tenants = [
            await conn.fetchval("INSERT INTO tenant (name, slug, plan, created_at) VALUES ($1, $1, 'starter', now()) RETURNING id", name)
            for name in ("one", "two")
        ]
        users = [
            await conn.fetchval(
                "INSERT INTO app_user (tenant_id, email, full_name, role, password_hash, is_active, created_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING id",
                tenant,
                email,
                name,
                role,
                f"hash-of-{email}",
                active,
            )
            for tenant, email, name, role, active in (
                (tenants[0], "ann@one.example.com", "Ann", "admin", True),
                (tenants[0], "bob@one.example.com", "Bob", "agent", False),
                (tenants[1], "cy@two.example.com", "Cy", "admin", True),
            )
        ]
        migrate = subprocess.run(atrium_command("migrate"), env=env, capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        rows = await conn.fetch(
            "SELECT u.id, u.tenant_id, u.email, u.role, u.is_active, a.email AS account_email, a.full_name, a.password_hash "
            "FROM app_user u JOIN account a ON a.id = u.account_id ORDER BY u.id"
        )
        assert [r["id"] for r in rows] == users, "every member keeps its id (and every foreign key to it)"
        assert [(r["email"], r["account_email"], r["full_name"], r["password_hash"]) for r in rows] == [
            ("ann@one.example.com", "ann@one.example.com", "Ann", "hash-of-ann@one.example.com"),
            ("bob@one.example.com", "bob@one.example.com", "Bob", "hash-of-bob@one.example.com"),
            ("cy@two.example.com", "cy@two.example.com", "Cy", "hash-of-cy@two.example.com"),
        ]
        assert [(r["role"], r["is_active"]) for r in rows] == [("admin", True), ("agent", False), ("admin", True)]
        assert await conn.fetchval("SELECT count(*) FROM account") == 3
        columns = {
            r["column_name"] for r in await conn.fetch("SELECT column_name FROM information_schema.columns WHERE table_name = 'app_user'")
        }
        assert "password_hash" not in columns and "account_id" in columns
        app_role_reads_accounts = await conn.fetchval("SELECT has_table_privilege('atrium_app', 'account', 'SELECT')")
        assert app_role_reads_accounts is False, "password hashes are out of the app role's reach"
    finally:
        await conn.close()
