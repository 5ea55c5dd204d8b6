"""The import wizard in a real browser: upload a CSV with bad rows, map, check, import, watch it finish."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port

pytestmark = pytest.mark.e2e

CSV = "Full Name,Mobile,Status\nNadia Quill,+971 50 765 4321,qualified\nBad Phone,12345,\n,+971501110000,\nOmar Quill,+971507654322,new\n"


def test_import_wizard_with_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(CSV)
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(strict_selectors=True)
            page.goto(f"{base}/imports/new")
            page.fill("input[name=email]", DEMO_EMAIL)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.set_input_files("input[name=file]", str(path))
            page.click("#upload button[type=submit]")
            expect(page.locator("select[name='map:Mobile']")).to_have_value("phone")  # suggested from the header
            page.click("#mapping button:has-text('Check the file')")
            preview = page.locator("#preview")
            expect(preview).to_contain_text("nothing has been written yet")
            expect(page.locator("#preview-rows")).to_contain_text("phone: Enter the phone in international format")
            expect(page.locator("#preview-rows")).to_contain_text("name is required")
            page.click("#preview button:has-text('Import 2 rows')")
            expect(page.locator("#progress")).to_contain_text("Done", timeout=20_000)  # pushed by the task_completed event
            expect(page.locator("#progress")).to_contain_text("2 new")
            expect(page.locator("#progress")).to_contain_text("2 with errors")
            with page.expect_download() as download:
                page.click("#progress a:has-text('Download the report')")
            report = Path(download.value.path()).read_text()
            assert report.splitlines()[0] == "row,outcome,record_id,message" and report.count("failed") == 2
            browser.close()
        token = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        found = httpx.get(f"{base}/v2/leads?q=quill", headers={"Authorization": f"Bearer {token}"}).json()
        assert sorted(lead["name"] for lead in found["data"]) == ["Nadia Quill", "Omar Quill"]
