"""CSV imports: upload, mapping, dry run that writes nothing, confirmed job, per-row report, isolation."""

from __future__ import annotations

import csv
import io

import asyncpg
import httpx
from litestar import Litestar

from tests.factories import Tenants, make_lead, upload
from tests.helpers import eventually

LEADS_CSV = (
    "Full Name;Mobile;E-mail;Budget;Type;Status\n"
    "Ali Hassan;+971 50 123 4567;ali@example.com;3000000;apartment;qualified\n"
    "No Phone Format;12345;;;;\n"
    "Existing Person;+971509999999;;;;\n"
    ";+971501112222;;;;\n"
    "Sarah Ahmed;+971521234567;sarah@example.com;1500000;villa;new\n"
    "Sarah Again;+971 52 123 4567;;;;\n"
)


async def test_upload_suggests_a_mapping_and_the_dry_run_writes_nothing(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    await make_lead(client, admin, name="Existing Person", phone="+971509999999")
    uploaded = await upload(client, admin.auth, LEADS_CSV)
    assert uploaded.status_code == 201, uploaded.text
    job = uploaded.json()
    assert job["columns"] == ["Full Name", "Mobile", "E-mail", "Budget", "Type", "Status"] and job["total_rows"] == 6
    assert job["mapping"] == {
        "Full Name": "name",
        "Mobile": "phone",
        "E-mail": "email",
        "Budget": "budget_max",
        "Type": "property_type",
        "Status": "status",
    }
    preview = await client.post(
        f"/v2/imports/{job['id']}/preview", headers=admin.auth, json={"mapping": job["mapping"], "on_duplicate": "skip"}
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert (body["would_create"], body["would_update"], body["would_skip"], body["would_fail"]) == (2, 0, 2, 2)
    by_row = {r["row"]: r for r in body["rows"]}
    assert by_row[3]["outcome"] == "fail" and "phone" in by_row[3]["message"].lower()
    assert by_row[4]["outcome"] == "skip" and "Already exists" in by_row[4]["message"]
    assert by_row[5]["outcome"] == "fail" and "name" in by_row[5]["message"]
    assert by_row[7]["outcome"] == "skip" and "row 6" in by_row[7]["message"]
    assert (await client.get("/v2/leads", headers=admin.auth)).json()["total"] == 1, "a dry run writes nothing"


async def test_confirmed_import_runs_as_a_job_and_reports_every_row(
    app: Litestar, client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    existing = await make_lead(client, admin, name="Existing Person", phone="+971509999999")
    job = (await upload(client, admin.auth, LEADS_CSV)).json()
    assert (await client.post(f"/v2/imports/{job['id']}/run", headers=admin.auth)).status_code == 409, "preview first"
    await client.post(f"/v2/imports/{job['id']}/preview", headers=admin.auth, json={"mapping": job["mapping"], "on_duplicate": "update"})
    started = await client.post(f"/v2/imports/{job['id']}/run", headers=admin.auth)
    assert started.status_code == 202
    assert (await client.post(f"/v2/imports/{job['id']}/run", headers=admin.auth)).status_code == 409, "runs once"

    async def finished() -> bool:
        return await db.fetchval("SELECT status FROM job_progress WHERE kind = 'import' AND subject_id = $1", job["id"]) == "done"

    await eventually(finished)
    done = (await client.get(f"/v2/imports/{job['id']}", headers=admin.auth)).json()
    assert (done["processed_rows"], done["created_rows"], done["updated_rows"], done["skipped_rows"], done["failed_rows"]) == (
        6,
        2,
        1,
        1,
        2,
    )
    ali = (await client.get("/v2/leads?q=Ali%20Hassan", headers=admin.auth)).json()["data"][0]
    assert (
        ali["phone"] == "+971501234567"
        and ali["status"] == "QUALIFIED"
        and ali["budget_max"] == 3000000
        and ali["property_type"] == "APARTMENT"
    )
    timeline = (await client.get(f"/v2/leads/{ali['id']}/timeline", headers=admin.auth)).json()["data"]
    assert timeline[-1]["kind"] == "created" and timeline[-1]["actor"] == f"import #{job['id']}"
    answer = await client.get(f"/v2/imports/{job['id']}/report", headers=admin.auth)
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    report = list(csv.reader(io.StringIO(answer.text)))
    assert report[0] == ["row", "outcome", "record_id", "message"] and len(report) == 7
    outcomes = {int(r[0]): r[1] for r in report[1:]}
    assert outcomes == {2: "created", 3: "failed", 4: "updated", 5: "failed", 6: "created", 7: "skipped"}
    assert next(r for r in report if r[0] == "4")[2] == str(existing["id"])
    # Running the job again (a retry) imports nothing twice.
    again = await app.state.queue.enqueue(
        "run_import", key=f"retry-{job['id']}", tenant_id=admin.tenant_id, import_id=job["id"], timeout=60
    )
    await again.refresh(until_complete=20)
    assert (await client.get("/v2/leads", headers=admin.auth)).json()["total"] == 3


async def test_contacts_import_and_bad_files(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    job = (await upload(client, admin.auth, "name,email,job title\nJohn Smith,john@company.com,CTO\n", kind="contacts")).json()
    assert job["mapping"] == {"name": "name", "email": "email", "job title": "title"}
    preview = (await client.post(f"/v2/imports/{job['id']}/preview", headers=admin.auth, json={"mapping": job["mapping"]})).json()
    assert preview["would_create"] == 1
    assert (await upload(client, admin.auth, "")).status_code == 422
    assert (await upload(client, admin.auth, "a,a\n1,2\n")).status_code == 422
    assert (
        await client.post(
            "/v2/imports", headers=admin.auth, files={"file": ("x.csv", b"\xff\xfe\x00bad", "text/csv")}, data={"kind": "leads"}
        )
    ).status_code == 422
    assert (await upload(client, admin.auth, "name\nx\n", kind="tickets")).status_code == 422
    bad_map = await client.post(f"/v2/imports/{job['id']}/preview", headers=admin.auth, json={"mapping": {"name": "password_hash"}})
    assert bad_map.status_code == 422 and bad_map.json()["error"]["details"]["field"] == "mapping"
    no_name = await client.post(f"/v2/imports/{job['id']}/preview", headers=admin.auth, json={"mapping": {"email": "email"}})
    assert no_name.status_code == 422


async def test_imports_are_for_admins_and_managers_of_one_tenant(client: httpx.AsyncClient, tenants: Tenants) -> None:
    a = await tenants.create()
    b = await tenants.create()
    job = (await upload(client, b.auth, "name\nB's lead\n")).json()
    for method, path in (
        ("GET", f"/v2/imports/{job['id']}"),
        ("POST", f"/v2/imports/{job['id']}/run"),
        ("GET", f"/v2/imports/{job['id']}/report"),
    ):
        assert (await client.request(method, path, headers=a.auth)).status_code == 404, path
    assert (await client.post(f"/v2/imports/{job['id']}/preview", headers=a.auth, json={"mapping": {"name": "name"}})).status_code == 404
    agent = await tenants.add_user(b, "agent")
    assert (await upload(client, agent.auth, "name\nx\n")).status_code == 403
    manager = await tenants.add_user(b, "manager")
    assert (await upload(client, manager.auth, "name\nx\n")).status_code == 201
