"""Large Excel exports built in the background, with progress, for the API and the leads screen."""

from __future__ import annotations

import io

import asyncpg
import httpx
from openpyxl import load_workbook

from tests.factories import BULK_LEADS_SQL, Tenants
from tests.helpers import browser_login, csrf_of, eventually


async def test_background_excel_export_reports_progress_and_downloads(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    other = await tenants.create()
    await db.execute(BULK_LEADS_SQL, admin.tenant_id, 12_000)
    started = await client.post("/v2/export/leads/jobs?source=import", headers=admin.auth)
    assert started.status_code == 202
    job = started.json()
    assert job["total_rows"] == 12_000 and job["status"] == "queued"
    assert (await client.get(f"/v2/export/jobs/{job['id']}", headers=other.auth)).status_code == 404

    async def done() -> bool:
        return await db.fetchval("SELECT status FROM job_progress WHERE kind = 'export' AND subject_id = $1", job["id"]) == "done"

    await eventually(done, timeout=60)
    status = (await client.get(f"/v2/export/jobs/{job['id']}", headers=admin.auth)).json()
    assert status["processed_rows"] == 12_000
    assert (await client.get(f"/v2/export/jobs/{job['id']}/file", headers=other.auth)).status_code == 404
    file = await client.get(f"/v2/export/jobs/{job['id']}/file", headers=admin.auth)
    assert file.status_code == 200
    sheet = load_workbook(io.BytesIO(file.content), read_only=True).active
    assert sheet.max_row == 12_001
    audit = (await client.get("/v2/audit-log?action=leads.exported", headers=admin.auth)).json()
    assert audit["data"][0]["details"]["rows"] == 12_000


async def test_the_leads_screen_sends_large_excel_views_to_the_background(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    await db.execute(BULK_LEADS_SQL, admin.tenant_id, 6_000)
    await browser_login(client, admin)
    page = await client.get("/leads")
    assert 'formaction="/leads/export-jobs"' in page.text, "more rows than BACKGROUND_FROM: a background export"
    started = await client.post("/leads/export-jobs", data={"_csrf_token": csrf_of(page.text)})
    assert started.status_code == 303
    progress_page = started.headers["location"]
    export_id = int(progress_page.rsplit("/", 1)[1])

    async def done() -> bool:
        return await db.fetchval("SELECT status FROM job_progress WHERE kind = 'export' AND subject_id = $1", export_id) == "done"

    await eventually(done, timeout=60)
    fragment = await client.get(progress_page, headers={"HX-Request": "true", "HX-Target": "export-progress"})
    assert "<html" not in fragment.text and "Download" in fragment.text and "hx-trigger" not in fragment.text, "polling stops when ready"
    assert (await client.get(f"{progress_page}/file")).headers["content-type"].startswith("application/vnd.openxmlformats")
