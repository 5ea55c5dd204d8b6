"""The README's first command on a fresh data directory, then a real browser managing API keys.

`atrium serve --demo` starts its own embedded PostgreSQL, applies migrations, loads the demo
tenant and runs the in-process worker; headless Chromium (Debian's, driven by Playwright) logs in,
creates an API key, sees it listed and revokes it. A second start reuses the same data.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD, DEMO_PROPERTIES
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port
from tests.helpers import output_of

pytestmark = pytest.mark.e2e


def login(page: Page, base: str) -> None:
    page.goto(f"{base}/settings/api-keys")
    expect(page).to_have_url(f"{base}/login?next=/settings/api-keys")
    page.fill("input[name=email]", DEMO_EMAIL)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/settings/api-keys")


def test_fresh_start_then_browser_creates_lists_and_revokes_an_api_key(tmp_path: Path) -> None:
    assert os.path.exists(CHROMIUM), "Debian's chromium is required for the browser tests (apt-get install chromium)"
    data_dir = tmp_path / "atrium-data"
    port = free_port()
    # How long a fresh start takes is not a test's business (a loaded machine doubles it): atrium_serve gives up at 60 s.
    with atrium_serve(data_dir, port) as (base, proc, _):
        assert httpx.get(f"{base}/login").status_code == 200
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(strict_selectors=True)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            login(page, base)

            page.fill("#keys input[name=name]", "Zapier sync")
            page.select_option("#keys select[name=permission]", "write")
            page.click("#keys button:has-text('Create key')")
            secret = page.locator("#new-key-value")
            expect(secret).to_be_visible()
            key = secret.inner_text().strip()
            assert key.startswith("atr_live_")
            row = page.locator("#keys-table tbody tr", has_text="Zapier sync")
            expect(row).to_have_count(1)
            expect(row).to_contain_text("write")
            expect(row).to_contain_text("active")
            assert "<html" not in page.content()[20:], "the key list was swapped in, not a nested page"

            api = httpx.get(f"{base}/v2/users", headers={"X-API-Key": key})
            assert api.status_code == 200 and api.json()["total"] == 6

            page.once("dialog", lambda dialog: dialog.accept())
            row.locator("button:has-text('Revoke')").click()
            expect(row).to_contain_text("revoked")
            assert httpx.get(f"{base}/v2/users", headers={"X-API-Key": key}).status_code == 401

            # The key is never shown again: a reload lists it by prefix only.
            page.reload()
            assert key not in page.content()
            expect(page.locator("#keys-table tbody tr", has_text="Zapier sync")).to_contain_text("revoked")

            page.goto(f"{base}/settings/audit-log")
            expect(page.locator("#audit-table")).to_contain_text("api_key.revoked")
            page.screenshot(path=str(tmp_path / "audit.png"))
            assert not errors, errors
            browser.close()
    assert proc.returncode == 0, "Ctrl-C (SIGINT) shuts down cleanly"

    # A second start reuses the data: same demo tenant, the revoked key still there.
    with atrium_serve(data_dir, port) as (base, proc, _):
        output = ""
        token = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        keys = httpx.get(f"{base}/v2/api-keys", headers={"Authorization": f"Bearer {token}"}).json()
        assert keys["total"] == 1 and keys["data"][0]["revoked_at"] is not None
        # The demo's properties, in every stage, and its two portfolios (one passes its reconciliation, one fails).
        stats = httpx.get(f"{base}/v2/portfolio/stats", headers={"Authorization": f"Bearer {token}"}).json()
        assert stats["total_properties"] == DEMO_PROPERTIES and all(stats["by_stage"].values()), stats
        portfolios = httpx.get(f"{base}/v2/portfolio/portfolios", headers={"Authorization": f"Bearer {token}"}).json()
        assert sorted(p["last_reconciliation"]["validation_status"] for p in portfolios) == ["fail", "pass"]
    output = output_of(proc)
    assert "already loaded" in output
