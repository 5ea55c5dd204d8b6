"""Support staff work a ticket in headless Chromium: a new ticket arrives live in the queue, they answer it with a
public reply and an internal note by keyboard, and the customer's page shows only the public reply."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD, DEMO_TEAM
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, serious_axe_violations, settled

pytestmark = pytest.mark.e2e

SUPPORT_EMAIL = next(email for _, email, role in DEMO_TEAM if role == "support")


def test_answer_a_ticket_with_a_public_reply_and_an_internal_note(tmp_path: Path) -> None:
    expect.set_options(timeout=15_000)
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        admin = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()
        auth = {"Authorization": f"Bearer {admin['access_token']}"}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(strict_selectors=True, viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/tickets?view=all")
            page.fill("input[name=email]", SUPPORT_EMAIL)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("#ticket-results")).to_contain_text("Keys not handed over")
            settled(page)
            assert serious_axe_violations(page) == []

            # A customer's e-mail becomes a ticket through the API: it appears in the open queue without a reload.
            created = httpx.post(
                f"{base}/v2/support/tickets",
                headers=auth,
                json={"title": "Balcony door will not lock", "description": "The lock broke this morning.", "priority": "high",
                      "category": "maintenance", "customer_email": "noor@example.com", "customer_name": "Noor Saleh"},
            )  # fmt: skip
            assert created.status_code == 201, created.text
            ticket = created.json()
            row = page.locator(f"#ticket-{ticket['id']}")
            expect(row).to_contain_text("Balcony door will not lock")
            expect(row.locator(".badge.sla-ok, .badge.sla-soon")).to_contain_text("Due in")

            row.get_by_role("link").click()
            expect(page.locator("h1")).to_contain_text("Balcony door will not lock")
            settled(page)
            reply = page.locator("textarea[name=content]")
            reply.focus()
            page.keyboard.type("We are sending a locksmith today between 2 and 4 pm.")
            # A canned reply, by keyboard: pick it, Insert adds it filled in for this ticket, the message keeps focus.
            page.locator("select[name=canned_reply_id]").focus()
            page.keyboard.press("Home")  # "Locksmith booked", the first by title
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            expect(page.locator("textarea[name=content]")).to_have_value(re.compile(r"between 2 and 4 pm\.\n\nHello Noor Saleh,"))
            expect(page.locator("textarea[name=content]")).to_be_focused()
            assert f"request #{ticket['id']}" in page.locator("textarea[name=content]").input_value()
            page.keyboard.press("Tab")  # then-status select
            page.keyboard.press("Tab")  # "Send public reply"
            page.keyboard.press("Enter")
            expect(page.locator(".flash")).to_have_text("Reply sent to the customer.")
            expect(page.locator(".conversation .message.from-staff")).to_contain_text("we have booked a locksmith")
            settled(page)
            page.locator("textarea[name=content]").fill("Locksmith invoice goes to the landlord, not the tenant.")
            page.get_by_role("button", name="Add internal note").click()
            expect(page.locator(".flash")).to_have_text("Internal note added.")
            note = page.locator(".conversation .message.internal")
            expect(note).to_contain_text("Locksmith invoice goes to the landlord")
            expect(note.locator(".note-badge")).to_have_text("Internal note")
            assert note.evaluate("e => getComputedStyle(e).borderStyle").startswith("dashed"), "notes look different from replies"
            expect(page.locator(".conversation .message.from-staff")).to_contain_text("locksmith today")
            expect(page.locator("#sla")).to_contain_text("First response")
            expect(page.locator("#sla")).to_contain_text("Met")
            settled(page)
            page.locator("select[name=status]").select_option("waiting")
            expect(page.locator(".flash")).to_contain_text("Saved: waiting")
            expect(page.locator("#sla")).to_contain_text("Paused")
            settled(page)
            assert serious_axe_violations(page) == []
            page.set_viewport_size({"width": 390, "height": 844})
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"

            customer_url = page.get_by_role("link", name="What the customer sees").get_attribute("href")
            assert customer_url is not None
            customer = browser.new_context(strict_selectors=True).new_page()  # another browser: no session
            customer.goto(customer_url.replace("http://127.0.0.1:8000", base))
            expect(customer.locator(".conversation")).to_contain_text("We are sending a locksmith today")
            expect(customer.locator(".conversation")).not_to_contain_text("landlord")
            assert "landlord" not in customer.content()
            customer.fill("textarea[name=content]", "Thank you, someone will be home.")
            customer.click("button[type=submit]")
            expect(customer.locator(".flash")).to_contain_text("your reply was sent")
            view = httpx.get(f"{base}/v2/support/tickets/{ticket['id']}", headers=auth).json()
            assert view["status"] == "open", "the customer's reply reopened the waiting ticket"
            assert errors == [], errors
            browser.close()
