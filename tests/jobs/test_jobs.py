"""SAQ jobs: the scheduled purge runs in-process and in `atrium worker`; failures are kept and replayable."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import asyncpg
import httpx
from litestar import Litestar

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, with_user
from tasks.settings import cron_jobs, make_queue
from tests.factories import Tenants
from tests.helpers import atrium_command, create_database, eventually, process_env

EXPIRED_SESSION = """
INSERT INTO user_session (tenant_id, user_id, token_hash, created_at, expires_at, ip, user_agent)
VALUES ($1, $2, md5(random()::text) || md5(random()::text), now() - interval '2 days', now() - interval '1 day', '', '')
"""


async def test_purge_is_scheduled_and_runs_in_the_web_process(app: Litestar, tenants: Tenants, db: asyncpg.Connection) -> None:
    assert any(job.function.__name__ == "purge_expired" for job in cron_jobs())
    # The in-process worker has put the next scheduled run on the queue.
    scheduled = await app.state.queue.job("cron:purge_expired")
    assert scheduled is not None and scheduled.function == "purge_expired"
    # The scheduled purge runs every 5 minutes: start clear of a tick, so it cannot take these rows first.
    until_tick = 300 - time.time() % 300
    if until_tick < 25:
        await asyncio.sleep(until_tick + 3)
    admin = await tenants.create()
    await db.execute(EXPIRED_SESSION, admin.tenant_id, admin.user_id)
    await db.execute(
        "INSERT INTO idempotency_record (tenant_id, key, request_hash, status, response_headers, created_at, expires_at) "
        "VALUES ($1, 'old', 'x', 'complete', '[]', now() - interval '2 days', now() - interval '1 day')",
        admin.tenant_id,
    )
    job = await app.state.queue.enqueue("purge_expired", key="test-purge-in-process", timeout=60, retries=3)
    await job.refresh(until_complete=20)
    assert job.status == "complete", job.error
    assert job.result["sessions"] == 1 and job.result["idempotency_records"] == 1
    assert await db.fetchval("SELECT count(*) FROM user_session") == 0
    assert await db.fetchval("SELECT count(*) FROM idempotency_record") == 0


async def test_failed_jobs_are_kept_per_tenant_and_replayed_once(
    app: Litestar, client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    a = await tenants.create()
    b = await tenants.create()
    await app.state.queue.enqueue(
        "always_fails", key=f"fail-{a.tenant_id}", tenant_id=a.tenant_id, reason="disk full", timeout=10, retries=2
    )

    # Wait on the table (polling the API would spend the tenant's rate limit), then assert through the API.
    async def recorded() -> bool:
        return await db.fetchval("SELECT count(*) FROM failed_job WHERE tenant_id = $1", a.tenant_id) == 1

    await eventually(recorded)
    page = (await client.get("/v2/admin/jobs/failed", headers=a.auth)).json()
    failed = page["data"][0]
    assert failed["function"] == "always_fails" and failed["attempts"] == 2
    assert "disk full" in failed["error"] and page["not_replayed"] == 1
    assert (await client.get("/v2/admin/jobs/failed", headers=b.auth)).json()["total"] == 0
    assert (await client.post(f"/v2/admin/jobs/failed/{failed['id']}/replay", headers=b.auth)).status_code == 404
    agent = await tenants.add_user(a, "agent")
    assert (await client.get("/v2/admin/jobs/failed", headers=agent.auth)).status_code == 403
    assert (await client.post(f"/v2/admin/jobs/failed/{failed['id']}/replay", headers=agent.auth)).status_code == 403

    replay = await client.post(f"/v2/admin/jobs/failed/{failed['id']}/replay", headers=a.auth)
    assert replay.status_code == 202 and replay.json()["replay_job_key"]
    assert (await client.post(f"/v2/admin/jobs/failed/{failed['id']}/replay", headers=a.auth)).status_code == 409

    async def replay_failed_too() -> bool:
        return await db.fetchval("SELECT count(*) FROM failed_job WHERE tenant_id = $1", a.tenant_id) == 2

    await eventually(replay_failed_too)
    assert (await client.get("/v2/admin/jobs/failed", headers=a.auth)).json()["total"] == 2
    audit = (await client.get("/v2/audit-log?action=job.replayed", headers=a.auth)).json()
    assert audit["total"] == 1


async def test_standalone_worker_runs_jobs_and_stops_cleanly(migrated: str, tenants: Tenants) -> None:
    """`atrium migrate` then `atrium worker` on their own database, so only that worker can take the job; configured as
    an external server is (docs/operations.md): the owner migrates, the worker logs in as the app's role."""
    dsn = await create_database(migrated, "atrium_worker_test")
    app_dsn = with_user(dsn, LOGIN_ROLE)
    env = process_env(
        DATABASE_URL=app_dsn,
        DATABASE_OWNER_URL=dsn,
        DATABASE_SYSTEM_URL=with_user(dsn, SYSTEM_LOGIN),
        SECRET_KEY="worker-test-secret-0123456789abcdefghij",
    )
    migrate = subprocess.run(atrium_command("migrate"), env=env, capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    conn = await asyncpg.connect(dsn)
    try:
        tenant_id = await conn.fetchval(
            "INSERT INTO tenant (name, slug, plan, created_at) VALUES ('W', 'w', 'starter', now()) RETURNING id"
        )
        account_id = await conn.fetchval(
            "INSERT INTO account (email, full_name, password_hash, created_at) VALUES ('w@example.com', 'W', 'x', now()) RETURNING id"
        )
        user_id = await conn.fetchval(
            "INSERT INTO app_user (tenant_id, account_id, email, full_name, role, is_active, created_at) "
            "VALUES ($1, $2, 'w@example.com', 'W', 'admin', true, now()) RETURNING id",
            tenant_id,
            account_id,
        )
        await conn.execute(EXPIRED_SESSION, tenant_id, user_id)
        worker = subprocess.Popen(
            atrium_command("worker", "--concurrency", "2"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        queue = make_queue(None, with_user(dsn, SYSTEM_LOGIN))
        await queue.connect()
        try:
            job = await queue.enqueue("purge_expired", key="test-purge-standalone", timeout=60, retries=3)
            await job.refresh(until_complete=60)
            assert job.status == "complete", job.error
            assert job.worker_id, "a worker took the job"
            assert await conn.fetchval("SELECT count(*) FROM user_session") == 0
        finally:
            await queue.disconnect()
            worker.send_signal(signal.SIGINT)
            output, _ = await asyncio.to_thread(worker.communicate, timeout=30)
        assert worker.returncode == 0, output
        assert "Atrium worker started" in output
    finally:
        await conn.close()


async def test_the_failed_work_console_counts_and_replays_per_queue(
    app: Litestar, client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    a, b = await tenants.create(), await tenants.create()
    for n in range(2):
        await app.state.queue.enqueue("always_fails", key=f"dlq-{n}", tenant_id=a.tenant_id, timeout=10, retries=1)

    async def recorded() -> bool:
        return await db.fetchval("SELECT count(*) FROM failed_job WHERE tenant_id = $1", a.tenant_id) == 2

    await eventually(recorded)
    stats = (await client.get("/v2/admin/dlq/stats", headers=a.auth)).json()
    assert stats["total_failed"] == 2 and {"queue": "always_fails", "failed": 2} in stats["queues"]
    assert (await client.get("/v2/admin/dlq/stats", headers=b.auth)).json()["total_failed"] == 0
    body = {"queue": "always_fails", "max_tasks": 1, "dry_run": True}
    dry = (await client.post("/v2/admin/dlq/replay-bulk", headers=a.auth, json=body)).json()
    assert dry["would_replay"] == 1 and dry["replayed"] == 0
    assert await db.fetchval("SELECT count(*) FROM failed_job WHERE replayed_at IS NOT NULL") == 0, "a dry run changes nothing"
    done = (await client.post("/v2/admin/dlq/replay-bulk", headers=a.auth, json={**body, "dry_run": False, "max_tasks": 10})).json()
    assert done["replayed"] == 2
    guide = await client.post("/v2/admin/dlq/replay-bulk", headers=a.auth, json={"queue": "memos", "max_tasks": 10, "dry_run": False})
    assert guide.status_code == 200 and guide.json()["replayed"] == 0, "the guide's call, on a queue with nothing failed"
    agent = await tenants.add_user(a, "agent")
    assert (await client.get("/v2/admin/dlq/stats", headers=agent.auth)).status_code == 403
    assert (await client.post("/v2/admin/dlq/replay-bulk", headers=agent.auth, json=body)).status_code == 403
