"""Lead exports: CSV in the guide's shape, XLSX with its features, JSON envelope, audit, limits, isolation."""

from __future__ import annotations

import csv
import io
import json

import asyncpg
import httpx
import pytest
from litestar import Litestar
from openpyxl import load_workbook

from app.db import TenantScope
from app.leads import export
from app.leads.service import LeadFilters
from tests.factories import BULK_LEADS_SQL, Tenants, make_lead
from tests.helpers import browser_client, browser_login, csrf_of


async def seed(client: httpx.AsyncClient, tenants: Tenants) -> tuple[object, object]:
    admin = await tenants.create()
    other = await tenants.create()
    await make_lead(
        client,
        admin,
        name="Ali Hassan",
        phone="+971501234567",
        budget_min=2000000,
        budget_max=3000000,
        property_type="APARTMENT",
        status="QUALIFIED",
    )
    await make_lead(
        client,
        admin,
        name="Sarah Ahmed",
        phone="+971521234567",
        email="sarah@example.com",
        budget_min=1500000,
        budget_max=2000000,
        property_type="VILLA",
    )
    await make_lead(client, admin, name='=HYPERLINK("http://evil")', email="x@example.com")
    await make_lead(client, other, name="Other tenant's lead", phone="+971500000000")
    return admin, other


async def test_csv_matches_the_guide_and_is_streamed(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin, _ = await seed(client, tenants)
    _, key = await tenants.api_key(admin, "read")  # type: ignore[arg-type]
    response = await client.get("/v2/export/leads?format=csv", headers={"X-API-Key": key})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"  # once: Litestar adds the charset to text/*
    assert response.headers["content-disposition"].startswith('attachment; filename="leads_')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0].keys()) == [
        "lead_id",
        "name",
        "phone",
        "email",
        "status",
        "budget_min",
        "budget_max",
        "property_type",
        "created_at",
    ]
    assert len(rows) == 3 and "Other tenant's lead" not in response.text
    ali = next(r for r in rows if r["name"] == "Ali Hassan")
    assert (ali["phone"], ali["status"], ali["budget_min"], ali["budget_max"]) == ("+971501234567", "QUALIFIED", "2000000", "3000000")
    assert ali["created_at"].endswith("Z") and "T" in ali["created_at"]
    evil = next(r for r in rows if "HYPERLINK" in r["name"])
    assert evil["name"].startswith("'="), "formulas are neutralised"
    only = await client.get("/v2/export/leads?format=csv&status=QUALIFIED&columns=name,phone", headers={"X-API-Key": key})
    assert only.text.splitlines() == ["name,phone", "Ali Hassan,+971501234567"]


async def test_xlsx_has_the_guide_features(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin, _ = await seed(client, tenants)
    response = await client.get("/v2/export/leads?format=xlsx&period=30d", headers=admin.auth)  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert response.headers["content-type"] == export.MEDIA_TYPES["xlsx"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:7] == ["Lead ID", "Name", "Phone", "Email", "Status", "Budget Min", "Budget Max"]
    assert "Hotness Score" in header and "Created Date" in header and "Last Interaction" in header
    assert sheet.max_row == 4
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(row=4, column=len(header)).coordinate}"
    ali = next(row for row in sheet.iter_rows(min_row=2) if row[1].value == "Ali Hassan")
    assert ali[5].value == 2000000 and ali[5].number_format == "#,##0"
    assert ali[4].value == "QUALIFIED" and ali[4].fill.fgColor.rgb.endswith("D1FAE5"), "status cells are colour-coded"
    assert sheet.column_dimensions["B"].width >= len("Ali Hassan")
    evil = next(row for row in sheet.iter_rows(min_row=2) if "HYPERLINK" in str(row[1].value))
    assert evil[1].data_type == "s", "a string, never a formula"


async def test_json_export_has_the_guide_envelope(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin, _ = await seed(client, tenants)
    response = await client.get("/v2/export/leads?format=json", headers=admin.auth)  # type: ignore[attr-defined]
    body = json.loads(response.content)
    assert body["export_id"].startswith("exp_") and body["total_records"] == 3 and len(body["data"]) == 3
    assert body["created_at"].endswith("Z")
    assert set(body["data"][0]) == set(export.COLUMNS)


async def test_exports_are_audited_and_refuse_bad_input(
    client: httpx.AsyncClient, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, _ = await seed(client, tenants)
    auth = admin.auth  # type: ignore[attr-defined]
    bad_column = await client.get("/v2/export/leads?format=csv&columns=name,password_hash", headers=auth)
    assert bad_column.status_code == 422 and bad_column.json()["error"]["details"]["field"] == "columns"
    assert (await client.get("/v2/export/leads?format=pdf", headers=auth)).status_code == 422
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 2)
    too_many = await client.get("/v2/export/leads?format=xlsx", headers=auth)
    assert too_many.status_code == 422 and "format=csv" in too_many.json()["error"]["message"]
    await client.get("/v2/export/leads?format=csv&status=QUALIFIED", headers=auth)
    audit = (await client.get("/v2/audit-log?action=leads.exported", headers=auth)).json()
    assert audit["total"] == 1 and audit["data"][0]["details"]["format"] == "csv"
    assert audit["data"][0]["details"]["filters"]["status"] == ["QUALIFIED"]


async def test_csv_streams_many_rows(app: object, client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    await db.execute(BULK_LEADS_SQL, admin.tenant_id, 20000)
    response = await client.get("/v2/export/leads?format=csv&columns=lead_id,phone", headers=admin.auth)
    assert response.text.count("\n") == 20001
    # The response body is this generator: it yields COPY's chunks as they come, never one big buffer.
    scope = TenantScope(tenant_id=admin.tenant_id, user_id=admin.user_id, role="admin", actor=admin.email)
    body = await export.export_leads(scope, "csv", LeadFilters(), export.pick_columns("lead_id,phone", "csv"))
    sizes = [len(chunk) async for chunk in body]
    # How COPY's bytes are cut depends on the machine's load; that they are never gathered into one is not.
    assert sum(sizes) > 300_000 and len(sizes) >= 2 and max(sizes) <= 256 * 1024


async def test_formula_injection_is_neutralised_in_csv_only(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    await make_lead(client, admin, name="+1+cmd|' /C calc'!A0", phone="+971501234567", source="-2+3+cmd")
    await make_lead(client, admin, name="=SUM(1)", phone="+971501234568")
    rows = list(
        csv.DictReader(io.StringIO((await client.get("/v2/export/leads?format=csv&columns=name,phone,source", headers=admin.auth)).text))
    )
    by_phone = {r["phone"]: r for r in rows}
    assert by_phone["+971501234567"]["name"].startswith("'+1+cmd"), "a + followed by a digit is still a formula"
    assert by_phone["+971501234567"]["source"].startswith("'-2+3")
    assert by_phone["+971501234568"]["name"] == "'=SUM(1)"
    assert set(by_phone) == {"+971501234567", "+971501234568"}, "phone numbers stay as they are"
    data = json.loads((await client.get("/v2/export/leads?format=json", headers=admin.auth)).content)["data"]
    assert {d["name"] for d in data} == {"+1+cmd|' /C calc'!A0", "=SUM(1)"}, "JSON keeps the real values"
    sheet = load_workbook(io.BytesIO((await client.get("/v2/export/leads?format=xlsx", headers=admin.auth)).content)).active
    names = {row[1].value for row in sheet.iter_rows(min_row=2)}
    assert names == {"+1+cmd|' /C calc'!A0", "=SUM(1)"} and all(row[1].data_type == "s" for row in sheet.iter_rows(min_row=2))


async def test_exporting_is_a_permission_support_and_finance_do_not_have(app: Litestar, tenants: Tenants) -> None:
    """The export button is hidden from support and finance; the screen's URLs and the API refuse them too."""
    admin = await tenants.create()
    await make_lead(tenants.client, admin, name="Private Person", phone="+971501234567")
    for role in ("support", "finance"):
        user = await tenants.add_user(admin, role)
        assert (await tenants.client.get("/v2/export/leads?format=csv", headers=user.auth)).status_code == 403
        async with browser_client(app) as browser:
            await browser_login(browser, user)
            listing = await browser.get("/leads")
            assert listing.status_code == 200 and "Export view" not in listing.text
            for url in ("/leads/export?format=csv", "/leads/export?format=xlsx"):
                refused = await browser.get(url)
                assert refused.status_code == 403 and "Private Person" not in refused.text
            started = await browser.post("/leads/export-jobs", data={"_csrf_token": csrf_of(listing.text)})
            assert started.status_code == 403
    agent = await tenants.add_user(admin, "agent")
    async with browser_client(app) as browser:
        await browser_login(browser, agent)
        allowed = await browser.get("/leads/export?format=csv")
        assert allowed.status_code == 200 and "Private Person" in allowed.text
