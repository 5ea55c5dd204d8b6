"""The analytics dashboard in headless Chromium on the demo: the date range lives in the URL (a preset, then custom
dates; reload and Back bring each back), the charts are drawn, and the PDF and Excel downloads read back."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect, sync_playwright
from pypdf import PdfReader

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, settled

pytestmark = pytest.mark.e2e


def test_the_dashboards_range_stays_in_the_url_and_its_files_download(tmp_path: Path) -> None:
    expect.set_options(timeout=15_000)
    today = datetime.now(UTC).date()
    start = (today - timedelta(days=60)).isoformat()
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/analytics")
        page.fill("input[name=email]", DEMO_EMAIL)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Analytics")
        settled(page)
        expect(page.locator("#chart-funnel rect")).to_have_count(5)
        expect(page.locator("#agents-table tbody tr").first).to_be_visible()

        page.select_option("#range-period", "90d")
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(f"{base}/analytics?period=90d")
        settled(page)
        page.reload()
        expect(page.locator("#range-period")).to_have_value("90d")
        ninety = page.locator("#funnel-table tbody tr").first.locator("td").nth(1).inner_text()

        page.select_option("#range-period", "custom")
        page.fill("#range-start", start)
        page.fill("#range-end", today.isoformat())
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(f"{base}/analytics?period=custom&start_date={start}&end_date={today.isoformat()}")
        expect(page.locator("#analytics-scope")).to_contain_text(f"{start} to {today.isoformat()}")
        settled(page)
        page.reload()
        expect(page.locator("#range-start")).to_have_value(start)
        page.go_back()
        expect(page).to_have_url(f"{base}/analytics?period=90d")
        expect(page.locator("#range-period")).to_have_value("90d")
        expect(page.locator("#funnel-table tbody tr").first.locator("td").nth(1)).to_have_text(ninety)
        page.go_forward()
        expect(page.locator("#range-period")).to_have_value("custom")

        with page.expect_download() as download:
            page.get_by_role("link", name="Export to Excel").click()
        assert download.value.suggested_filename == f"analytics_{start}_{today.isoformat()}.xlsx"
        book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
        assert [c.value for c in book["Funnel"]["A"]][1:] == ["started", "qualified", "phone_captured", "viewing_scheduled", "closed_won"]
        assert book["Agents"]["A2"].value and book["KPIs"]["A2"].value == "New leads"
        with page.expect_download() as download:
            page.get_by_role("link", name="Export to PDF").click()
        assert download.value.suggested_filename == f"analytics_{start}_{today.isoformat()}.pdf"
        text = "\n".join(pg.extract_text() for pg in PdfReader(io.BytesIO(Path(download.value.path()).read_bytes())).pages).lower()
        for expected in ("sales funnel", "agent leaderboard", "performance score = 50 x min", f"analytics {start} to {today.isoformat()}"):
            assert expected in text, expected
        page.screenshot(path=str(tmp_path / "analytics.png"), full_page=True)
        assert errors == [], errors
        browser.close()
