"""`kill -9` of the worker in the middle of a delivery: after a restart the event is delivered, nothing lost."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import asyncpg

from tests.helpers import atrium_command, create_database, process_env
from tests.webhooks.receiver import Answer, receiving


async def test_a_delivery_cut_by_kill_9_is_sent_again_after_a_restart(migrated: str) -> None:
    dsn = await create_database(migrated, "atrium_webhook_crash")
    env = process_env(DATABASE_URL=dsn, SECRET_KEY="crash-test-secret-0123456789abcdefghij", WEBHOOK_ALLOW_PRIVATE_TARGETS="1")
    migrate = subprocess.run(atrium_command("migrate"), env=env, capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    conn = await asyncpg.connect(dsn)
    workers: list[subprocess.Popen[str]] = []

    def start_worker() -> None:
        workers.append(subprocess.Popen(atrium_command("worker", "--concurrency", "2"), env=env, stdout=subprocess.DEVNULL, text=True))

    try:
        with receiving() as receiver:
            receiver.script = [Answer(200, delay=60)]  # the first try hangs until the worker is killed
            tenant_id = await conn.fetchval(
                "INSERT INTO tenant (name, slug, plan, created_at) VALUES ('K', 'k', 'starter', now()) RETURNING id"
            )
            await conn.execute(
                "INSERT INTO webhook_endpoint (tenant_id, url, events, secret_key) VALUES ($1, $2, ARRAY['*'], 'whsec_a1b2c3d4e5f6g7h8')",
                tenant_id,
                receiver.url,
            )
            await conn.execute("INSERT INTO webhook_slot (tenant_id, slot) SELECT $1, s FROM generate_series(0, 9) s", tenant_id)
            await conn.execute(
                "INSERT INTO outbox_event (tenant_id, event_type, subject_type, subject_id, data) "
                "VALUES ($1, 'contact.created', 'contact', 1, '{\"contact_id\": 1}')",
                tenant_id,
            )
            start_worker()
            deadline = time.monotonic() + 30
            while not receiver.requests:
                assert time.monotonic() < deadline, "the worker never sent the delivery"
                await asyncio.sleep(0.1)
            assert await conn.fetchval("SELECT status FROM webhook_delivery") == "sending"
            workers[-1].send_signal(signal.SIGKILL)
            workers[-1].wait(timeout=10)
            start_worker()
            deadline = time.monotonic() + 45
            while await conn.fetchval("SELECT status FROM webhook_delivery") != "delivered":
                assert time.monotonic() < deadline, "the cut delivery was not sent again"
                await asyncio.sleep(0.25)
            assert len(receiver.requests) == 2, "sent again once (at least once), never lost"
            assert receiver.requests[0].delivery_id == receiver.requests[1].delivery_id
            assert await conn.fetchval("SELECT count(*) FROM webhook_delivery") == 1
            assert await conn.fetchval("SELECT dispatched_at IS NOT NULL FROM outbox_event") is True
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
        await conn.close()
