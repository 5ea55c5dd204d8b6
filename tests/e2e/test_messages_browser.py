"""Messages in headless Chromium: a template is written with its preview following the typing (a refused placeholder
shown at once), saved, sent from a property's page, read in the local outbox; a lead's sequence is started from its
page."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port
from tests.e2e.test_properties_browser import log_in

pytestmark = pytest.mark.e2e


def test_write_preview_send_and_read_in_the_outbox(tmp_path: Path) -> None:
    expect.set_options(timeout=15_000)
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        token = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        prop = api.post(
            "/v2/properties", json={"address": "77 Quince Lane", "owner_name": "Quentin Quill", "owner_email": "quentin@example.com"}
        )
        assert prop.status_code == 201, prop.text
        lead = api.post("/v2/leads", json={"name": "Wanda Wren", "email": "wanda@example.com"}).json()["id"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(strict_selectors=True, viewport={"width": 1280, "height": 900})
            log_in(page, base)
            page.goto(f"{base}/messages/templates/new")
            page.fill("input[name=name]", "Quince hello")
            page.fill("input[name=subject_template]", "About {{address}}")
            page.fill("textarea[name=body_template]", "Dear {{ lead.__dict__ }}")
            expect(page.locator("#preview [role=alert]")).to_contain_text("not allowed")
            page.fill("textarea[name=body_template]", "Dear {{owner_name}}, may we talk about {{address}}?")
            expect(page.locator("#preview")).to_contain_text("Dear Jane Smith, may we talk about 123 Main St?")
            page.click("#template-form button[type=submit]")
            page.wait_for_url(f"{base}/messages/templates")
            expect(page.locator("#templates-table")).to_contain_text("Quince hello")

            page.goto(f"{base}/properties/{prop.json()['id']}")
            page.click("a:has-text('Send a template')")
            page.select_option("select[name=template_id]", label="Quince hello (e-mail)")
            expect(page.locator("#preview")).to_contain_text("Dear Quentin Quill, may we talk about 77 Quince Lane?")
            page.click("#send-form button[type=submit]")
            page.wait_for_url(f"{base}/properties/{prop.json()['id']}")
            page.goto(f"{base}/messages/outbox")
            row = page.locator("#messages-table tr", has_text="quentin@example.com")
            expect(row).to_contain_text("About 77 Quince Lane")
            row.locator("summary").click()
            expect(row.locator("pre")).to_contain_text("/unsubscribe/")

            page.goto(f"{base}/leads/{lead}")
            card = page.locator("#sequences")
            card.locator("select[name=sequence_type]").select_option("buyer_nurture")
            card.locator("button:has-text('Start a sequence')").click()
            expect(page.locator("#sequences")).to_contain_text("Sequence started")
            expect(page.locator("#sequences")).to_contain_text("Buyer nurture")
            browser.close()
