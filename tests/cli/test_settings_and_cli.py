"""Settings validation and the `atrium` commands that do not serve."""

from __future__ import annotations

import subprocess
from pathlib import Path

import asyncpg
import pytest

from app.settings import SettingsError, load_settings
from tests.helpers import atrium_command, create_database, process_env


def test_defaults_generate_and_keep_a_secret_key(tmp_path: Path) -> None:
    first = load_settings({"ATRIUM_DATA_DIR": str(tmp_path)})
    again = load_settings({"ATRIUM_DATA_DIR": str(tmp_path)})
    assert first.embedded and first.database_url is None
    assert len(first.secret_key) >= 32 and first.secret_key == again.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first.base_url == "http://127.0.0.1:8000" and not first.cookie_secure


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"QUEUE_URL": "amqp://x"}, "QUEUE_URL"),
        ({"ATRIUM_PORT": "eighty"}, "ATRIUM_PORT"),
        ({"ATRIUM_PORT": "70000"}, "ATRIUM_PORT"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DATABASE_URL": "postgresql://db/atrium"}, "SECRET_KEY"),
        ({"BASE_URL": "ftp://x"}, "BASE_URL"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"ACCESS_TOKEN_TTL": "5"}, "ACCESS_TOKEN_TTL"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings({"ATRIUM_DATA_DIR": str(tmp_path), **env})


def test_https_base_url_makes_cookies_secure(tmp_path: Path) -> None:
    settings = load_settings({"ATRIUM_DATA_DIR": str(tmp_path), "BASE_URL": "https://crm.example.com/"})
    assert settings.cookie_secure and settings.base_url == "https://crm.example.com"


def test_cli_reports_a_bad_setting_and_exits_non_zero() -> None:
    result = subprocess.run(
        atrium_command("migrate"), env=process_env(DATABASE_URL="mysql://nope"), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr


async def test_createadmin_creates_a_tenant_that_can_log_in(migrated: str) -> None:
    dsn = await create_database(migrated, "atrium_cli_test")
    env = process_env(DATABASE_URL=dsn, SECRET_KEY="cli-test-secret-0123456789abcdefghijkl")
    args = ("createadmin", "--email", "Owner@Example.com", "--tenant", "Acme Realty", "--password", "a long password")
    created = subprocess.run(atrium_command(*args), env=env, capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr
    assert "Acme Realty" in created.stdout
    duplicate = subprocess.run(atrium_command(*args), env=env, capture_output=True, text=True, timeout=120)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT u.role, t.slug FROM app_user u JOIN tenant t ON t.id = u.tenant_id WHERE u.email = 'owner@example.com'"
        )
    finally:
        await conn.close()
    assert row["role"] == "admin" and row["slug"] == "acme-realty"


def test_operators_set_rate_limits_per_plan(tmp_path: Path) -> None:
    env = {"ATRIUM_DATA_DIR": str(tmp_path)}
    assert load_settings(env).rate_limits == {"starter": 60, "professional": 100, "enterprise": 500}
    assert load_settings({**env, "RATE_LIMITS": "enterprise=2000, starter=30"}).rate_limits["enterprise"] == 2000
    assert load_settings(env).rate_limiting
    lifted = load_settings({**env, "RATE_LIMITS": "enterprise=off,starter=0"})
    assert lifted.rate_limits == {"starter": 0, "professional": 100, "enterprise": 0} and lifted.rate_limiting
    assert not load_settings({**env, "RATE_LIMITS": "off"}).rate_limiting
    for bad in ("enterprise", "gold=10", "starter=-1", "starter=ten", "on"):
        with pytest.raises(SettingsError, match="RATE_LIMITS"):
            load_settings({**env, "RATE_LIMITS": bad})


async def test_the_operator_sets_a_tenants_rate_limit_from_the_command_line(migrated: str) -> None:
    dsn = await create_database(migrated, "atrium_cli_rate_limit")
    env = process_env(DATABASE_URL=dsn, SECRET_KEY="cli-test-secret-0123456789abcdefghijkl")

    def atrium(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(atrium_command(*args), env=env, capture_output=True, text=True, timeout=120)

    created = atrium("createadmin", "--email", "ops@example.com", "--tenant", "Bench Co", "--password", "a long password")
    assert created.returncode == 0, created.stderr
    raised = atrium("tenant", "set-rate-limit", "bench-co", "5000")
    assert raised.returncode == 0, raised.stderr
    assert "5000 requests/minute" in raised.stdout
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT rate_limit FROM tenant WHERE slug = 'bench-co'") == 5000
        tenant_id = await conn.fetchval("SELECT id FROM tenant WHERE slug = 'bench-co'")
        off = atrium("tenant", "set-rate-limit", str(tenant_id), "off")
        assert off.returncode == 0 and "unlimited" in off.stdout
        assert await conn.fetchval("SELECT rate_limit FROM tenant WHERE id = $1", tenant_id) == 0
        listed = atrium("tenant", "list")
        assert listed.returncode == 0 and "bench-co" in listed.stdout and "unlimited" in listed.stdout
        back = atrium("tenant", "set-rate-limit", "bench-co", "plan")
        assert back.returncode == 0 and "starter: 60/minute" in back.stdout
        assert await conn.fetchval("SELECT rate_limit FROM tenant WHERE id = $1", tenant_id) is None
        audited = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'tenant.rate_limit_changed'", tenant_id
        )
        assert audited == 3
    finally:
        await conn.close()
    unknown = atrium("tenant", "set-rate-limit", "no-such-tenant", "10")
    assert unknown.returncode == 1 and "no-such-tenant" in unknown.stderr
    bad = atrium("tenant", "set-rate-limit", "bench-co", "lots")
    assert bad.returncode == 2 and "off, or plan" in bad.stderr
