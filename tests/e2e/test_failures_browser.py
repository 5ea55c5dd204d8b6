"""Failures are never silent in the browser: a refused or failed change says so next to the control and puts
it back; error pages keep the person inside the app."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD, DEMO_TEAM
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, serious_axe_violations

pytestmark = pytest.mark.e2e

SUPPORT_EMAIL = next(email for _, email, role in DEMO_TEAM if role == "support")


def test_failed_changes_are_shown_and_undone_and_error_pages_keep_the_layout(tmp_path: Path) -> None:
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        token = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        lead = api.post("/v2/leads", json={"name": "Fragile Farah", "phone": "+971501119999"}).json()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(strict_selectors=True)
            page.goto(f"{base}/login")
            page.fill("input[name=email]", DEMO_EMAIL)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            # No live updates on this page: the test is about a change that meets a record gone meanwhile.
            page.route("**/events/stream**", lambda route: route.abort())
            page.goto(f"{base}/leads/{lead['id']}")
            status = page.locator("#lead select[name=status]")
            expect(status).to_have_value("NEW")

            # The network is cut: the change says it was not saved and the select goes back.
            page.route("**/leads/*", lambda route: route.abort() if route.request.method == "PATCH" else route.continue_())
            status.focus()
            status.select_option("CONTACTED")
            expect(page.locator(".inline-error")).to_contain_text("could not be reached")
            expect(status).to_have_value("NEW")
            page.unroute("**/leads/*")

            # Deleted elsewhere meanwhile: the server's words, next to the control, and the select back.
            api.delete(f"/v2/leads/{lead['id']}")
            status.focus()
            status.select_option("QUALIFIED")
            expect(page.locator(".inline-error")).to_contain_text("Not found")
            expect(status).to_have_value("NEW")
            assert api.get(f"/v2/leads/{lead['id']}").status_code == 404, "nothing came back to life"

            # A page someone may not open: inside the app, with its navigation and a way out.
            page.goto(f"{base}/logout")
            context = browser.new_context(strict_selectors=True)
            support = context.new_page()
            support.goto(f"{base}/login")
            support.fill("input[name=email]", SUPPORT_EMAIL)
            support.fill("input[name=password]", DEMO_PASSWORD)
            support.click("button[type=submit]")
            response = support.goto(f"{base}/settings/webhooks")
            assert response is not None and response.status == 403
            expect(support.locator("h1")).to_contain_text("Not allowed")
            expect(support.locator("nav.nav")).to_contain_text("Leads")
            expect(support.locator("button:has-text('Log out')")).to_be_visible()
            assert serious_axe_violations(support) == []

            # Keyboard on a phone: the first Tab reaches "Skip to content"; the menu opens from the keyboard.
            support.set_viewport_size({"width": 390, "height": 844})
            support.goto(f"{base}/leads")
            support.keyboard.press("Tab")
            expect(support.locator(".skip-link")).to_be_focused()
            expect(support.locator("nav.nav")).to_be_hidden()
            support.keyboard.press("Tab")
            support.keyboard.press("Tab")
            expect(support.locator("#nav-toggle")).to_be_focused()
            support.keyboard.press("Space")
            expect(support.locator("nav.nav")).to_be_visible()
            browser.close()


def test_signed_in_pages_are_not_kept_by_the_browser(tmp_path: Path) -> None:
    """`Cache-Control: no-store` on every page of a signed-in person, so Back after logging out shows nothing."""
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _), httpx.Client(base_url=base) as browser:
        login = browser.get("/login")
        assert "no-store" not in login.headers.get("cache-control", "")
        token = login.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
        browser.post("/login", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "_csrf_token": token, "next": "/leads"})
        for path in ("/", "/leads", "/settings/webhooks", "/notifications"):
            assert browser.get(path).headers.get("cache-control") == "no-store", path
