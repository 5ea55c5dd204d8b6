"""Test harness: one embedded PostgreSQL per run, migrated as in production, clean state per test.

Requests go through the real ASGI app with httpx in the test's event loop, with the app's
lifespan (connection pool, SAQ queue and in-process worker) running for the whole session.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher
from litestar import Litestar

from app import settings as app_settings
from app.accounts import security
from app.asgi import create_app
from app.db import LOGIN_ROLE, SYSTEM_LOGIN, DatabaseUrls, migrate, start_embedded_postgres, with_user
from app.settings import Settings, load_settings
from app.settings import install as install_settings
from app.web import ratelimit
from tests.factories import Tenants
from tests.helpers import create_database

TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnop"
# Passwords and keys are hashed with cheap argon2 parameters in the test process (tests/accounts
# checks the production ones); processes the tests start (`atrium serve`, `atrium worker`) use the real ones.
security.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
# Tables emptied before every test (everything but the migration ledger and SAQ's own tables).
CLEAN_TABLES = [
    "tenant",
    "account",
    "rate_limit_bucket",
    "login_throttle",
    "failed_job",
]


async def always_fails(ctx: dict[str, Any], *, tenant_id: int, reason: str = "boom") -> None:
    """A task that fails every attempt, to exercise retries, failure recording and replay."""
    raise RuntimeError(f"{reason} for tenant {tenant_id}")


async def works_slowly(ctx: dict[str, Any], *, seconds: float) -> str:
    """A task that takes its time, to show a live job's heartbeat keeps the sweep away."""
    await asyncio.sleep(seconds)
    return "done"


@pytest.fixture
def production_hashing() -> Iterator[None]:
    """The real argon2 parameters for one test (the suite otherwise uses cheap ones)."""
    cheap = security.HASHER
    security.use_hasher(security.PRODUCTION_HASHER)
    try:
        yield
    finally:
        security.use_hasher(cheap)


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    """A scratch directory for this run's embedded PostgreSQL and secret files."""
    with tempfile.TemporaryDirectory(prefix="atrium-test-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="session")
async def dsn(data_dir: Path, worker_id: str) -> str:
    """The test database: an embedded server per test process, or one database per process on ATRIUM_TEST_DATABASE_URL."""
    external = os.environ.get("ATRIUM_TEST_DATABASE_URL")
    if external is None:
        return start_embedded_postgres(data_dir)
    return external if worker_id == "master" else await create_database(external, f"atrium_test_{worker_id}")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    """Settings as a test deployment would have them."""
    return load_settings(
        {
            "ATRIUM_DATA_DIR": str(data_dir),
            "SECRET_KEY": TEST_SECRET,
            "BASE_URL": "http://testserver",
            # The webhook tests' receivers listen on loopback, and retries come after a second, not minutes.
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
            "WEBHOOK_RETRY_DELAYS": "1,1,1",
            # More worker slots than a tenant's 10 webhook slots, so the per-tenant limit is what a test sees.
            "WORKER_CONCURRENCY": "16",
        }
    )


@pytest.fixture(autouse=True)
def _installed_settings_kept() -> Iterator[None]:
    """A test that assembles another app in this process (create_app installs its own settings: the architecture and
    screens tests) leaves the session app's settings installed, so later tests of the same worker (webhooks to loopback
    receivers) see the test deployment's."""
    before = app_settings._installed
    yield
    if before is not None and app_settings._installed is not before:
        app_settings.install(before)


@pytest.fixture(scope="session")
def urls(dsn: str) -> DatabaseUrls:
    """As `atrium serve` has them: the owner (`dsn`, the server's superuser) migrates, the app logs in as LOGIN_ROLE
    for tenant work and as SYSTEM_LOGIN for system work and the queue."""
    return DatabaseUrls(app=with_user(dsn, LOGIN_ROLE), owner=dsn, system=with_user(dsn, SYSTEM_LOGIN))


@pytest.fixture(scope="session")
async def migrated(dsn: str, urls: DatabaseUrls) -> str:
    """Apply migrations exactly as `atrium serve` does; the owner's DSN, for tests' own connections."""
    await migrate(urls)
    return dsn


class Lifespan:
    """Run an ASGI app's lifespan protocol in the current event loop."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Lifespan:
        self.task = asyncio.create_task(
            self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, self.inbox.get, self.outbox.put)
        )  # type: ignore[arg-type]
        await self.inbox.put({"type": "lifespan.startup"})
        message = await self.outbox.get()
        assert message["type"] == "lifespan.startup.complete", message
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.outbox.get()
        assert self.task is not None
        await self.task


@pytest.fixture(scope="session")
async def app(migrated: str, urls: DatabaseUrls, settings: Settings) -> AsyncIterator[Litestar]:
    """The application with its lifespan running (pool, queue, in-process SAQ worker), connected as the app's login role."""
    application = create_app(settings, urls.app, system_dsn=urls.system, run_worker=True, extra_task_functions=[always_fails, works_slowly])
    async with Lifespan(application):
        yield application


@pytest.fixture
async def clean(migrated: str, app: Litestar, settings: Settings) -> None:
    """Empty every tenant table (cascading from tenant) and the shared counters; the app's settings are the session's
    again (a test that assembles another app, such as the architecture's or the screens' route list, installs its own)."""
    install_settings(settings)
    conn = await asyncpg.connect(migrated)
    try:
        # Ids restart at 1, so job keys repeat (export:1): let the previous test's running jobs finish first,
        # or a new job with the same key would be taken for the one still running and never run.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and await conn.fetchval(  # noqa: ASYNC110 - polling another process's table
            "SELECT count(*) FROM saq_jobs WHERE status = 'active' AND key NOT LIKE 'cron:%'"
        ):
            await asyncio.sleep(0.05)
        # …and forget finished ones: SAQ queues a key again only with a later `scheduled` second.
        await conn.execute("DELETE FROM saq_jobs WHERE status IN ('complete', 'failed', 'aborted') AND key NOT LIKE 'cron:%'")
        # …and the ones still waiting for their time (a nurture sequence's next touchpoint): their rows are about to go,
        # and a new one with the same key would be taken for them and never run.
        await conn.execute("DELETE FROM saq_jobs WHERE status = 'queued' AND key NOT LIKE 'cron:%'")
        # A job the previous test started may still be finishing; its locks can deadlock with TRUNCATE.
        for attempt in range(5):
            try:
                await conn.execute(f"TRUNCATE {', '.join(CLEAN_TABLES)} RESTART IDENTITY CASCADE")
                break
            except asyncpg.exceptions.DeadlockDetectedError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await conn.close()
    ratelimit.forget_leases()


@pytest.fixture
async def client(app: Litestar, clean: None) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the ASGI app."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def db(migrated: str) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection as the connecting (owner) role, for assertions and set-up the API cannot do."""
    conn = await asyncpg.connect(migrated)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def tenants(client: httpx.AsyncClient, migrated: str) -> Tenants:
    """Factory for tenants, users and credentials through the public API."""
    return Tenants(client, migrated)
