"""Live updates and webhooks in headless Chromium: changes made elsewhere appear without a reload; an admin
adds a webhook, sends a test event and reads its delivery log."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, serious_axe_violations
from tests.webhooks.receiver import receiving

pytestmark = pytest.mark.e2e


def test_changes_made_elsewhere_appear_live_and_webhooks_are_managed_on_screen(tmp_path: Path) -> None:
    with atrium_serve(tmp_path / "data", free_port(), WEBHOOK_ALLOW_PRIVATE_TARGETS="1") as (base, _, _), receiving() as receiver:
        token = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(strict_selectors=True, viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/leads")
            page.fill("input[name=email]", DEMO_EMAIL)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{base}/leads")
            expect(page.locator("#leads-table tbody tr")).to_have_count(25)
            page.evaluate("window.notReloaded = true")

            # The list: a lead created through the API shows up on its own.
            created = api.post("/v2/leads", json={"name": "Live Leila", "phone": "+971501112233"}).json()
            expect(page.locator("#leads-table")).to_contain_text("Live Leila", timeout=15_000)
            assert page.evaluate("window.notReloaded === true"), "no reload"
            assert page.url == f"{base}/leads", "a live refresh adds no history step"
            assert serious_axe_violations(page) == []
            # Changes in quick succession: the second arrives while the first's redraw is on its way, and shows too
            # (htmx dropped the redraw it queued when the first one replaced the region).
            for i, gap in enumerate((0, 0.02, 0.05, 0.1)):
                assert api.post("/v2/leads", json={"name": f"Burst first {i}", "phone": f"+97150111220{i}"}).status_code == 201
                time.sleep(gap)
                assert api.post("/v2/leads", json={"name": f"Burst second {i}", "phone": f"+97150111221{i}"}).status_code == 201
                expect(page.locator("#leads-table")).to_contain_text(f"Burst second {i}", timeout=10_000)

            # The lead's page: a status change made elsewhere redraws it.
            page.click("#leads-table a:has-text('Live Leila')")
            expect(page.locator("#lead h1")).to_contain_text("Live Leila")
            page.evaluate("window.notReloaded = true")
            api.patch(f"/v2/leads/{created['id']}", json={"status": "QUALIFIED"})
            expect(page.locator("#lead select[name=status]")).to_have_value("QUALIFIED", timeout=15_000)
            expect(page.locator("#timeline")).to_contain_text("Status NEW → QUALIFIED")
            assert page.evaluate("window.notReloaded === true")
            # Two changes in a row on a page whose lazy cards load after every redraw: the second one shows too.
            for gap, first, second in ((0, "VIEWING_SCHEDULED", "NEGOTIATING"), (0.05, "CONTACTED", "QUALIFIED")):
                assert api.patch(f"/v2/leads/{created['id']}", json={"status": first}).status_code == 200
                time.sleep(gap)
                assert api.patch(f"/v2/leads/{created['id']}", json={"status": second}).status_code == 200
                expect(page.locator("#lead select[name=status]")).to_have_value(second, timeout=10_000)
            # …but never under someone's fingers: with the edit form open, it only says so.
            page.click("#details button:has-text('Edit')")
            page.fill("form#details input[name=preferred_location]", "Dubai Marina")
            api.patch(f"/v2/leads/{created['id']}", json={"notes": "Called from the office"})
            expect(page.locator(".live-notice")).to_contain_text("Changed elsewhere", timeout=15_000)
            expect(page.locator("form#details input[name=preferred_location]")).to_have_value("Dubai Marina")

            # The audit log's filter keeps its focus while the results change under it.
            page.goto(f"{base}/settings/audit-log")
            page.locator("input[name=action]").press_sequentially("auth.log", delay=50)
            expect(page).to_have_url(f"{base}/settings/audit-log?action=auth.log", timeout=10_000)
            expect(page.locator("input[name=action]")).to_be_focused()
            expect(page.locator("input[name=action]")).to_have_value("auth.log")

            # Settings → Webhooks: add one, see its secret once, send a test event, read the log.
            page.goto(f"{base}/settings/webhooks")
            page.fill("input[name=webhook_url]", receiver.url)
            page.fill("input[name=description]", "Our CRM")
            page.click("#webhooks button:has-text('Add webhook')")
            expect(page.locator("#new-secret")).to_contain_text("whsec_")
            assert serious_axe_violations(page) == []
            page.click("#new-webhook a")
            page.select_option("#endpoint select[name=event_type]", "lead.qualified")
            page.click("#endpoint button:has-text('Send test event')")
            expect(page.locator("#test-result")).to_contain_text("delivered", timeout=15_000)
            assert receiver.of("lead.qualified"), "the receiver got the test event"
            expect(page.locator("#deliveries-table")).to_contain_text("lead.qualified")
            assert serious_axe_violations(page) == []
            page.click("#deliveries-table a:has-text('evt_test_')")
            expect(page.locator("#delivery")).to_contain_text('"event":"lead.qualified"')
            expect(page.locator("#delivery")).to_contain_text("HTTP 200")
            page.set_viewport_size({"width": 390, "height": 844})
            assert page.evaluate("document.documentElement.scrollWidth <= 390 + 1"), "no sideways scrolling on a phone"
            page.screenshot(path=str(tmp_path / "delivery-phone.png"), full_page=True)
            page.goto(page.url.rsplit("/deliveries/", 1)[0])
            assert page.evaluate("document.documentElement.scrollWidth <= 390 + 1"), "the endpoint's page fits a phone"
            assert not errors, errors
            browser.close()
