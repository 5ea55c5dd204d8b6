"""The bell rings on every page: a page with no live region of its own (the account page, a form) still hears the
person's notifications and redraws the badge at once."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from app.demo.loader import DEMO_PASSWORD, DEMO_TEAM
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port

pytestmark = pytest.mark.e2e

AGENT_NAME, AGENT_EMAIL = next((name, email) for name, email, role in DEMO_TEAM if role == "agent")
MANAGER_EMAIL = next(email for _, email, role in DEMO_TEAM if role == "manager")


def test_the_bell_rings_on_a_page_without_live_regions(tmp_path: Path) -> None:
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        boss = httpx.post(f"{base}/v2/auth/login", json={"email": MANAGER_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        auth = {"Authorization": f"Bearer {boss}"}
        lead = httpx.post(f"{base}/v2/leads", headers=auth, json={"name": "Bell Ringer"}).json()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/login")
            page.fill("input[name=email]", AGENT_EMAIL)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/**")
            for path in ("/account", "/leads/new"):  # no live region on either
                page.goto(f"{base}{path}")
                assert page.locator("[sse-connect]").count() == 0, path
                badge = page.locator("#notifications-badge")
                expect(badge).to_contain_text("Notifications")
                before = badge.inner_text()
                first = AGENT_NAME.split()[0]
                noted = httpx.patch(f"{base}/v2/leads/{lead['id']}", headers=auth, json={"notes": f"@{first} call them back ({path})"})
                assert noted.status_code == 200, noted.text
                expect(page.locator("#notifications-badge")).not_to_have_text(before, timeout=15_000)
            assert not errors, errors
            browser.close()
