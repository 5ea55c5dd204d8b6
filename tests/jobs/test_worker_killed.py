"""Issue #9, "jobs survive a crash", with real processes: `atrium serve --no-worker` and separate `atrium worker`
processes on their own database. The import and the Excel export are started through the HTTP API; the worker
running one is killed with SIGKILL (or stopped with SIGTERM) once real progress shows it is mid-job; a fresh worker
must finish it within two minutes, every row once, while the API never shows it stuck or failed.

JOB_HEARTBEAT=3 and JOB_SWEEP_INTERVAL=1 shorten the production 30 s heartbeat and 15 s sweep (same mechanism), so a
dead worker's job is taken back in about ten seconds instead of about a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from openpyxl import load_workbook

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, with_user
from tests.e2e.browser import free_port
from tests.factories import BULK_LEADS_SQL, Account, Tenants, upload
from tests.helpers import atrium_command, create_database, process_env

SWEPT_WITHIN = 120  # the issue: swept and finished within two minutes of the kill
IMPORT_ROWS = 2_000  # the kill comes after 1,000 (five batches); about 250 rows a second here
EXPORT_ROWS = 30_000  # six progress steps of 5,000: the kill comes after the first


@dataclass
class Deployment:
    """A web process and the workers a test starts on one database."""

    base: str
    dsn: str
    env: dict[str, str]
    logs: Path
    workers: list[subprocess.Popen[str]] = field(default_factory=list)

    def start_worker(self) -> subprocess.Popen[str]:
        log = (self.logs / f"worker-{len(self.workers)}.log").open("w")  # a file: an unread pipe would fill and stall the worker
        worker = subprocess.Popen(
            atrium_command("worker", "--concurrency", "2"), env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        self.workers.append(worker)
        return worker

    def output(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in sorted(self.logs.glob("*.log")))

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        self.workers.clear()


@pytest.fixture(scope="module")
async def deployment(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Deployment]:
    """`atrium serve --no-worker` on a database of its own, so only the workers a test starts take its jobs."""
    dsn = await create_database(migrated, "atrium_worker_killed")
    logs = tmp_path_factory.mktemp("worker-killed")
    port = free_port()
    env = process_env(
        DATABASE_URL=with_user(dsn, LOGIN_ROLE),  # deployed as docs/operations.md says: the owner only migrates
        DATABASE_OWNER_URL=dsn,
        DATABASE_SYSTEM_URL=with_user(dsn, SYSTEM_LOGIN),
        SECRET_KEY="worker-killed-secret-0123456789abcdefghij",
        ATRIUM_PORT=str(port),
        RATE_LIMITS="off",  # the test follows progress closely; limits are not what it checks
        JOB_HEARTBEAT="3",
        JOB_SWEEP_INTERVAL="1",
    )
    web_log = (logs / "serve.log").open("w")
    web = subprocess.Popen(atrium_command("serve", "--no-worker"), env=env, stdout=web_log, stderr=subprocess.STDOUT, text=True)
    deployed = Deployment(f"http://127.0.0.1:{port}", dsn, env, logs)
    try:
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + 60
            while True:
                assert web.poll() is None, f"atrium serve exited:\n{deployed.output()}"
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{deployed.base}/v2/health", timeout=2)).status_code == 200:
                        break
                assert time.monotonic() < deadline, "atrium serve did not start"
                await asyncio.sleep(0.2)
        yield deployed
    finally:
        deployed.stop_workers()
        web.send_signal(signal.SIGINT)
        try:
            web.wait(timeout=20)
        except subprocess.TimeoutExpired:
            web.kill()
        web_log.close()


@pytest.fixture
async def http(deployment: Deployment) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=deployment.base, timeout=30) as client:
        yield client
    deployment.stop_workers()


@pytest.fixture
async def conn(deployment: Deployment) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(deployment.dsn)
    try:
        yield connection
    finally:
        await connection.close()


def killed(worker: subprocess.Popen[str], how: signal.Signals = signal.SIGKILL) -> int:
    worker.send_signal(how)
    return worker.wait(timeout=30)


async def started_import(http: httpx.AsyncClient, admin: Account, rows: int) -> int:
    """An import of `rows` leads, each with its own phone, checked and confirmed through the API (queued: no worker yet)."""
    csv = "name,phone,email\n" + "".join(f"Killed {n},+97150{n:07d},killed{n}@example.com\n" for n in range(rows))
    made = await upload(http, admin.auth, csv)
    assert made.status_code == 201, made.text
    import_id = made.json()["id"]
    checked = await http.post(f"/v2/imports/{import_id}/preview", headers=admin.auth, json={"mapping": made.json()["mapping"]})
    assert checked.status_code == 200 and checked.json()["would_create"] == rows, checked.text
    run = await http.post(f"/v2/imports/{import_id}/run", headers=admin.auth, params={"confirm": checked.json()["confirm"]})
    assert run.status_code == 202, run.text
    return import_id


class Watch:
    """Everything the person following a job through the API saw: (status, processed) at each look."""

    def __init__(self, http: httpx.AsyncClient, url: str, admin: Account) -> None:
        self.http, self.url, self.admin = http, url, admin
        self.seen: list[tuple[str, int]] = []

    async def look(self) -> dict[str, Any]:
        response = await self.http.get(self.url, headers=self.admin.auth)
        assert response.status_code == 200, response.text
        body = response.json()
        self.seen.append((body["status"], body["processed_rows"]))
        return body

    async def until(self, done: Callable[[dict[str, Any]], bool], timeout: float, deployment: Deployment) -> dict[str, Any]:
        """Look every 50 ms until `done(body)`; the log of every process when it does not come in time."""
        deadline = time.monotonic() + timeout
        while True:
            body = await self.look()
            if done(body):
                return body
            assert time.monotonic() < deadline, f"not in {timeout} s; saw {self.seen[-5:]}\n{deployment.output()}"
            await asyncio.sleep(0.05)

    def statuses(self) -> set[str]:
        return {status for status, _ in self.seen}


async def saq_job(conn: asyncpg.Connection, key: str) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT status, job FROM saq_jobs WHERE key = $1", key)
    assert row is not None, key
    return {"attempts": 0, **json.loads(row["job"]), "status": row["status"]}  # SAQ leaves out fields at their default


async def assert_imported_once(conn: asyncpg.Connection, admin: Account, import_id: int, rows: int) -> None:
    counts = await conn.fetchrow(
        "SELECT count(*) AS leads, count(DISTINCT phone) AS phones, count(DISTINCT email) AS emails FROM lead WHERE tenant_id = $1",
        admin.tenant_id,
    )
    assert dict(counts) == {"leads": rows, "phones": rows, "emails": rows}, "every row imported, none twice"
    outcomes = await conn.fetchrow(
        "SELECT count(*) AS reported, count(DISTINCT row_number) AS distinct_rows, count(*) FILTER (WHERE outcome = 'created') AS created "
        "FROM import_row WHERE import_id = $1",
        import_id,
    )
    assert dict(outcomes) == {"reported": rows, "distinct_rows": rows, "created": rows}
    tallies = await conn.fetchrow("SELECT created_rows, skipped_rows, failed_rows FROM import_job WHERE id = $1", import_id)
    assert dict(tallies) == {"created_rows": rows, "skipped_rows": 0, "failed_rows": 0}, "no batch counted twice"


async def test_an_import_whose_worker_is_killed_is_swept_and_finished_by_a_fresh_worker_each_row_once(
    deployment: Deployment, http: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    admin = await Tenants(http, deployment.dsn).create()
    import_id = await started_import(http, admin, IMPORT_ROWS)
    watch = Watch(http, f"/v2/imports/{import_id}", admin)
    assert (await watch.look())["status"] == "queued"
    first = deployment.start_worker()
    at_kill = await watch.until(lambda body: body["processed_rows"] >= 1_000, timeout=60, deployment=deployment)
    assert killed(first) == -signal.SIGKILL
    killed_at = time.monotonic()

    committed = await conn.fetchval("SELECT processed FROM job_progress WHERE kind = 'import' AND subject_id = $1", import_id)
    assert at_kill["processed_rows"] <= committed < IMPORT_ROWS, "killed in the middle of the import"
    assert await conn.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1", admin.tenant_id) == committed, (
        "the batch cut by the kill left nothing behind"
    )
    key = f"import:{import_id}"
    dead = await saq_job(conn, key)
    assert dead["status"] == "active", "the dead worker's job is still active: the sweep's to take back"
    assert dead["heartbeat"] == 3, "enqueued by atrium serve with JOB_HEARTBEAT's heartbeat"
    assert (await watch.look())["status"] == "running"
    retry = await http.post(f"/v2/imports/{import_id}/run", headers=admin.auth)
    assert retry.status_code == 409, "not dead yet: the sweep takes it back, a second run would race it"

    deployment.start_worker()
    await watch.until(lambda body: body["status"] == "done", timeout=SWEPT_WITHIN, deployment=deployment)
    took = time.monotonic() - killed_at
    assert took < SWEPT_WITHIN
    print(f"import: killed at {committed} of {IMPORT_ROWS} rows; swept and finished {took:.1f} s after the kill")

    await assert_imported_once(conn, admin, import_id, IMPORT_ROWS)
    job = await saq_job(conn, key)
    assert job["status"] == "complete" and job["attempts"] == 2, "the killed attempt, then the swept one resumed"
    assert watch.statuses() <= {"queued", "running", "done"}, watch.seen
    processed = [count for _, count in watch.seen]
    assert processed == sorted(processed), "progress never went back: the second attempt resumed where the first stopped"
    report = await http.get(f"/v2/imports/{import_id}/report", headers=admin.auth)
    assert report.text.count("\r\n") == IMPORT_ROWS + 1


async def test_an_import_whose_worker_gets_sigterm_is_requeued_and_finished_by_a_fresh_worker_each_row_once(
    deployment: Deployment, http: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    admin = await Tenants(http, deployment.dsn).create()
    import_id = await started_import(http, admin, IMPORT_ROWS)
    watch = Watch(http, f"/v2/imports/{import_id}", admin)
    first = deployment.start_worker()
    await watch.until(lambda body: body["processed_rows"] >= 1_000, timeout=60, deployment=deployment)
    assert killed(first, signal.SIGTERM) == 0, deployment.output()
    stopped_at = time.monotonic()

    committed = await conn.fetchval("SELECT processed FROM job_progress WHERE kind = 'import' AND subject_id = $1", import_id)
    assert 0 < committed < IMPORT_ROWS, "stopped in the middle of the import"
    assert await conn.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1", admin.tenant_id) == committed
    key = f"import:{import_id}"
    assert (await saq_job(conn, key))["status"] == "queued", "SIGTERM put the running job back in the queue"
    after_stop = await watch.look()
    assert after_stop["status"] == "queued", f"waiting for a worker, not failed: {after_stop}"
    assert (await http.post(f"/v2/imports/{import_id}/run", headers=admin.auth)).status_code == 409, "it is queued already"

    deployment.start_worker()
    await watch.until(lambda body: body["status"] == "done", timeout=60, deployment=deployment)
    print(f"import: SIGTERM at {committed} of {IMPORT_ROWS} rows; finished {time.monotonic() - stopped_at:.1f} s after")
    await assert_imported_once(conn, admin, import_id, IMPORT_ROWS)
    assert watch.statuses() <= {"queued", "running", "done"}, watch.seen


async def test_an_excel_export_stopped_then_killed_is_rebuilt_by_a_fresh_worker_and_downloads(
    deployment: Deployment, http: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    """SIGTERM mid-export re-queues it; the next worker's attempt is killed with -9 mid-export, swept, and a third
    worker rebuilds it from scratch: the file downloads with every lead once."""
    admin = await Tenants(http, deployment.dsn).create()
    await conn.execute(BULK_LEADS_SQL, admin.tenant_id, EXPORT_ROWS)
    started = await http.post("/v2/export/leads/jobs", headers=admin.auth)
    assert started.status_code == 202, started.text
    export_id, key = started.json()["id"], f"export:{started.json()['id']}"
    watch = Watch(http, f"/v2/export/jobs/{export_id}", admin)

    async def building(attempt: int) -> dict[str, Any]:
        """Wait for this attempt to report its first rows written; where the export stands then, in the database."""
        deadline = time.monotonic() + 60
        while True:
            body = await watch.look()
            if body["status"] == "running" and body["processed_rows"] > 0 and (await saq_job(conn, key))["attempts"] == attempt:
                row = await conn.fetchrow("SELECT status, processed FROM job_progress WHERE kind = 'export' AND subject_id = $1", export_id)
                return dict(row)
            assert time.monotonic() < deadline, f"attempt {attempt} wrote nothing; saw {watch.seen[-5:]}\n{deployment.output()}"
            await asyncio.sleep(0.05)

    stopped = deployment.start_worker()
    await building(attempt=1)
    assert killed(stopped, signal.SIGTERM) == 0, deployment.output()
    assert (await saq_job(conn, key))["attempts"] == 0, "a graceful stop is not a failed attempt: it uses none of its 2 retries"
    progress = await conn.fetchrow("SELECT status, processed FROM job_progress WHERE kind = 'export' AND subject_id = $1", export_id)
    assert 0 < progress["processed"] < EXPORT_ROWS, f"stopped in the middle of the export: {progress}"
    assert (await saq_job(conn, key))["status"] == "queued", "SIGTERM put it back in the queue"
    assert (await watch.look())["status"] == "queued", "waiting for a worker, not failed"

    first = deployment.start_worker()
    at_kill = await building(attempt=1)
    assert killed(first) == -signal.SIGKILL
    killed_at = time.monotonic()
    assert at_kill["status"] == "running" and 0 < at_kill["processed"] < EXPORT_ROWS, f"killed in the middle of the export: {at_kill}"
    assert (await conn.fetchval("SELECT status FROM job_progress WHERE kind = 'export' AND subject_id = $1", export_id)) == "running"
    assert (await saq_job(conn, key))["status"] == "active", "the dead worker's job is still active: the sweep's to take back"
    assert (await watch.look())["status"] == "running", "its job is alive (the sweep will take it back): not failed"
    assert (await http.get(f"/v2/export/jobs/{export_id}/file", headers=admin.auth)).status_code == 409, "not ready"

    deployment.start_worker()
    await watch.until(lambda body: body["status"] == "done", timeout=SWEPT_WITHIN, deployment=deployment)
    took = time.monotonic() - killed_at
    assert took < SWEPT_WITHIN
    print(f"export: killed at {at_kill['processed']} of {EXPORT_ROWS} rows; swept, rebuilt and finished {took:.1f} s after the kill")
    job = await saq_job(conn, key)
    assert job["status"] == "complete" and job["attempts"] == 2, "stopped (not counted), killed, then rebuilt by the swept attempt"
    assert watch.statuses() <= {"queued", "running", "done"}, watch.seen

    file = await http.get(f"/v2/export/jobs/{export_id}/file", headers=admin.auth)
    assert file.status_code == 200, file.text
    sheet = load_workbook(io.BytesIO(file.content), read_only=True).active
    header, *rows = sheet.iter_rows(values_only=True)
    phone = list(header).index("Phone")
    assert len(rows) == EXPORT_ROWS and len({row[phone] for row in rows}) == EXPORT_ROWS, "every lead once"
