"""Regressions from review of the import and background exports: odd files, failures, resuming, access."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.imports import service as imports
from tests.factories import BULK_LEADS_SQL, Tenants, upload
from tests.helpers import eventually


async def test_odd_files_are_clear_errors_or_imported_cleanly(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    huge_cell = "name\n" + "x" * (200 * 1024) + "\n"
    assert (await upload(client, admin.auth, huge_cell)).status_code == 422
    mac = await upload(client, admin.auth, "name,phone\rAli,+971501234567\rSara,+971501234568\r")
    assert mac.status_code == 201 and mac.json()["total_rows"] == 2
    nul = (await upload(client, admin.auth, "name\nNa\x00dia\n")).json()
    preview = (await client.post(f"/v2/imports/{nul['id']}/preview", headers=admin.auth, json={"mapping": {"name": "name"}})).json()
    assert preview["would_create"] == 1 and preview["rows"][0]["values"]["name"] == "Nadia"
    ranges = (await upload(client, admin.auth, "name,budget_min,budget_max\nX,900,100\n")).json()
    checked = (await client.post(f"/v2/imports/{ranges['id']}/preview", headers=admin.auth, json={"mapping": ranges["mapping"]})).json()
    assert checked["would_fail"] == 1, "the dry run applies the same rules as the job"
    assert checked["rows"][0]["message"] == "Budget minimum cannot exceed the maximum"


async def test_a_failed_import_says_so_and_resumes_without_duplicates(
    app: Litestar, client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await tenants.create()
    monkeypatch.setattr(imports, "BATCH", 2)
    rows = "".join(f"Person {n},+97150000{n:04d}\n" for n in range(6))
    job = (await upload(client, admin.auth, "name,phone\n" + rows)).json()
    await client.post(f"/v2/imports/{job['id']}/preview", headers=admin.auth, json={"mapping": job["mapping"]})
    calls = 0
    real = imports._import_row

    async def dies_on_the_fourth_row(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise RuntimeError("worker lost")
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(imports, "_import_row", dies_on_the_fourth_row)
    with pytest.raises(RuntimeError):
        await imports.run(admin.tenant_id, job["id"])
    failed = (await client.get(f"/v2/imports/{job['id']}", headers=admin.auth)).json()
    assert failed["status"] == "failed" and failed["processed_rows"] == 2 and "RuntimeError" in failed["error"]
    assert await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1", admin.tenant_id) == 2, "the failed batch was rolled back"
    monkeypatch.setattr(imports, "_import_row", real)
    assert (await client.post(f"/v2/imports/{job['id']}/run", headers=admin.auth)).status_code == 202

    async def finished() -> bool:
        return await db.fetchval("SELECT status FROM job_progress WHERE kind = 'import' AND subject_id = $1", job["id"]) == "done"

    await eventually(finished)
    done = (await client.get(f"/v2/imports/{job['id']}", headers=admin.auth)).json()
    assert (done["processed_rows"], done["created_rows"]) == (6, 6)
    assert await db.fetchval("SELECT count(*) FROM lead WHERE tenant_id = $1", admin.tenant_id) == 6


async def test_background_exports_belong_to_whoever_asked(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    manager = await tenants.add_user(admin, "manager")
    await db.execute(BULK_LEADS_SQL, admin.tenant_id, 10)
    await db.execute("UPDATE lead SET deleted_at = now() WHERE tenant_id = $1", admin.tenant_id)
    job = (await client.post("/v2/export/leads/jobs?deleted=true", headers=admin.auth)).json()

    async def done() -> bool:
        return await db.fetchval("SELECT status FROM job_progress WHERE kind = 'export' AND subject_id = $1", job["id"]) == "done"

    await eventually(done)
    for other in (agent, manager):
        assert (await client.get(f"/v2/export/jobs/{job['id']}", headers=other.auth)).status_code == 404
        assert (await client.get(f"/v2/export/jobs/{job['id']}/file", headers=other.auth)).status_code == 404
    assert (await client.get(f"/v2/export/jobs/{job['id']}/file", headers=admin.auth)).status_code == 200
    downloads = (await client.get("/v2/audit-log?action=leads.export_downloaded", headers=admin.auth)).json()
    assert downloads["total"] == 1


async def test_import_runs_exactly_the_mapping_that_was_checked(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    job = (await upload(client, admin.auth, "name,phone\nAli,+971501230000\n")).json()
    first = (await client.post(f"/v2/imports/{job['id']}/preview", headers=admin.auth, json={"mapping": job["mapping"]})).json()
    # Another tab checks a different mapping meanwhile.
    await client.post(f"/v2/imports/{job['id']}/preview", headers=admin.auth, json={"mapping": {"name": "name"}, "on_duplicate": "update"})
    stale = await client.post(f"/v2/imports/{job['id']}/run?confirm={first['confirm']}", headers=admin.auth)
    assert stale.status_code == 409 and stale.json()["error"]["details"]["field"] == "confirm"
    assert await db.fetchval("SELECT status FROM import_job WHERE id = $1", job["id"]) == "previewed"
    current = (await client.post(f"/v2/imports/{job['id']}/preview", headers=admin.auth, json={"mapping": job["mapping"]})).json()
    assert (await client.post(f"/v2/imports/{job['id']}/run?confirm={current['confirm']}", headers=admin.auth)).status_code == 202


async def test_a_semicolon_file_with_a_short_row_keeps_its_columns(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    text = "name;phone;email\nAli;+971501234567\nSara;+971501234568;sara@example.com\n"
    made = await upload(client, admin.auth, text)
    assert made.status_code == 201 and made.json()["columns"] == ["name", "phone", "email"], "read as semicolon-separated"
    preview = (
        await client.post(f"/v2/imports/{made.json()['id']}/preview", headers=admin.auth, json={"mapping": made.json()["mapping"]})
    ).json()
    assert preview["would_create"] == 2 and preview["rows"][0]["values"]["phone"] == "+971501234567"
