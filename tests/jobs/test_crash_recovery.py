"""Jobs survive their worker: a live long job keeps the sweep away with its heartbeat; one whose worker died
(what kill -9 leaves: an active job no one touches) is swept back into the queue and finishes, and one SAQ
gave up on can be started again by the person, resuming where it stopped."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
from litestar import Litestar
from saq.job import Status

from app.db import tenant_transaction
from app.imports import service as imports
from app.jobs import progress
from tests.factories import Account, Tenants, upload
from tests.helpers import eventually


async def test_a_live_job_with_a_heartbeat_is_never_swept(app: Litestar) -> None:
    queue = app.state.queue
    job = await queue.enqueue("works_slowly", key=f"slow:{time.time()}", seconds=4, heartbeat=1, timeout=60, retries=0)
    assert job is not None
    swept: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        swept += await queue.sweep(abort=0.1)
        await job.refresh()
        if job.status == Status.COMPLETE:
            break
        await asyncio.sleep(0.5)
    assert job.status == Status.COMPLETE and job.result == "done"
    assert job.key not in swept, "its worker touched it every third of a second, so the sweep left it alone"


async def _crashed_import(app: Litestar, client: httpx.AsyncClient, tenants: Tenants, *, attempts: int) -> tuple[Account, int]:
    """An import in the state its worker's kill -9 leaves: started, its SAQ job active and no longer touched."""
    admin = await tenants.create()
    rows = "".join(f"Crash {n},+97155{n:07d}\n" for n in range(150))
    made = (await upload(client, admin.auth, "name,phone\n" + rows)).json()
    await client.post(f"/v2/imports/{made['id']}/preview", headers=admin.auth, json={"mapping": made["mapping"]})
    async with tenant_transaction(admin.tenant_id):
        await imports.ImportJob.update({imports.ImportJob.status: "started"}).where(imports.ImportJob.id == made["id"])
    await progress.track(admin.tenant_id, imports.KIND, made["id"], total=150)
    await progress.running(admin.tenant_id, imports.KIND, made["id"])
    queue = app.state.queue
    job = await imports.run_import.enqueue(queue, scheduled=time.time() + 3600, tenant_id=admin.tenant_id, import_id=made["id"])
    assert job is not None
    long_ago = int(time.time() * 1000) - 120_000
    job.started = job.touched = long_ago
    job.scheduled = int(time.time()) - 120  # it was due when it started
    job.attempts = attempts
    await queue._update(job, status=Status.ACTIVE)  # not update(): that would touch it now, as a live worker does
    return admin, made["id"]


async def test_a_job_whose_worker_died_is_swept_back_and_finishes_once(
    app: Litestar, client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin, import_id = await _crashed_import(app, client, tenants, attempts=1)
    assert imports.run_import.key_for(import_id=import_id) in await app.state.queue.sweep(abort=0.1)

    async def finished() -> bool:
        return await db.fetchval("SELECT status FROM job_progress WHERE kind = 'import' AND subject_id = $1", import_id) == "done"

    await eventually(finished)
    assert await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1", admin.tenant_id) == 150
    assert await db.fetchval("SELECT count(DISTINCT phone) FROM lead WHERE tenant_id = $1", admin.tenant_id) == 150, "no row twice"


async def test_a_job_given_up_after_crashes_can_be_started_again(
    app: Litestar, client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin, import_id = await _crashed_import(app, client, tenants, attempts=4)  # past its 3 retries
    await app.state.queue.sweep(abort=0.1)
    job = await app.state.queue.job(imports.run_import.key_for(import_id=import_id))
    assert job is not None and job.status == Status.ABORTED, "SAQ gave up on it"
    stuck = (await client.get(f"/v2/imports/{import_id}", headers=admin.auth)).json()
    assert stuck["status"] == "failed", "not running for ever: its job is dead, only the person can tell it to go on"
    assert "resume it" in stuck["error"] and stuck["processed_rows"] == 0
    assert (await client.post(f"/v2/imports/{import_id}/run", headers=admin.auth)).status_code == 202, "no 409: its job is dead"

    async def finished() -> bool:
        return await db.fetchval("SELECT status FROM job_progress WHERE kind = 'import' AND subject_id = $1", import_id) == "done"

    await eventually(finished)
    assert await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1", admin.tenant_id) == 150


async def test_an_export_whose_job_is_dead_says_failed_instead_of_running_for_ever(
    app: Litestar, client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    await client.post("/v2/leads", headers=admin.auth, json={"name": "Exported"})
    started = (await client.post("/v2/export/leads/jobs", headers=admin.auth)).json()

    async def done() -> bool:
        return (await client.get(f"/v2/export/jobs/{started['id']}", headers=admin.auth)).json()["status"] == "done"

    await eventually(done)
    # What SAQ giving up on a crashed export leaves: the export says running, its job is over, a minute has passed.
    await db.execute(
        "UPDATE job_progress SET status = 'running', finished_at = NULL WHERE kind = 'export' AND subject_id = $1", started["id"]
    )
    await db.execute("UPDATE export_job SET created_at = now() - interval '2 minutes' WHERE id = $1", started["id"])
    seen = (await client.get(f"/v2/export/jobs/{started['id']}", headers=admin.auth)).json()
    assert seen["status"] == "failed" and "start it again" in seen["error"]
    fresh = (await client.post("/v2/export/leads/jobs", headers=admin.auth)).json()
    assert (await client.get(f"/v2/export/jobs/{fresh['id']}", headers=admin.auth)).json()["status"] in ("queued", "running", "done")
