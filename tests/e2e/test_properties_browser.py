"""Properties in headless Chromium: a card dragged and keyed across the stage board persists; the list's search and
filters live in the URL; a property is edited in place; a lead's best match books a viewing in one click; every
screen passes axe-core and works on a 390 px phone."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, serious_axe_violations, settled
from tests.e2e.test_board_browser import drag

pytestmark = pytest.mark.e2e


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", DEMO_EMAIL)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/**")


def test_board_list_page_and_matches_in_the_browser(tmp_path: Path) -> None:
    expect.set_options(timeout=15_000)
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        token = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        made = []
        for address, score in (("1 Zephyr Quay", 0.99), ("2 Zephyr Quay", 0.98)):
            response = api.post(
                "/v2/properties",
                json={
                    "address": address,
                    "neighborhood": "Zephyr Bay",
                    "price": 1_234_000,
                    "bedrooms": 2,
                    "listing_status": "for_sale",
                    "bird_dog_score": score,
                },
            )
            assert response.status_code == 201, response.text
            made.append(response.json()["id"])
        dragged, keyed = made
        lead = api.post(
            "/v2/leads",
            json={
                "name": "Zara Zephyr",
                "phone": "+971509998877",
                "budget_min": 1_100_000,
                "budget_max": 1_300_000,
                "bedrooms_min": 2,
                "bedrooms_max": 2,
                "preferred_locations": ["Zephyr Bay"],
            },
        )
        assert lead.status_code == 201, lead.text
        lead_id = lead.json()["id"]

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(strict_selectors=True, viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            log_in(page, base)

            # The board: drag a card from New to Qualified; it persists and the board answers in place.
            page.goto(f"{base}/properties/board?q=zephyr")
            new, qualified = page.locator(".column[data-stage='new']"), page.locator(".column[data-stage='qualified']")
            expect(new.locator(f"#property-card-{dragged}")).to_have_count(1)
            assert serious_axe_violations(page) == []
            drag(page, page.locator(f"#property-card-{dragged}"), qualified.locator(".cards"))
            expect(qualified.locator(f"#property-card-{dragged}")).to_have_count(1)
            expect(page.locator("#board .flash")).to_contain_text("Moved “1 Zephyr Quay” to Qualified.")
            assert api.get(f"/v2/properties/{dragged}").json()["current_stage"] == "qualified"
            assert "q=zephyr" in page.url
            # From the keyboard: Alt+→ moves the focused card one stage on, and it keeps the focus.
            settled(page)
            page.locator(f"#property-card-{keyed} a").focus()
            page.keyboard.press("Alt+ArrowRight")
            expect(page.locator(".column[data-stage='outreach']").locator(f"#property-card-{keyed}")).to_have_count(1)
            expect(page.locator(f"#property-card-{keyed} a")).to_be_focused()
            assert api.get(f"/v2/properties/{keyed}").json()["current_stage"] == "outreach"

            # The list: search and a stage filter are in the URL; Back shows the search alone again.
            page.goto(f"{base}/properties")
            page.fill("#property-filters input[name=q]", "zephyr quay")
            rows = page.locator("#properties-table tbody tr")
            expect(rows).to_have_count(2)
            page.select_option("#property-filters select[name=stage]", "qualified")
            expect(rows).to_have_count(1)
            expect(page).to_have_url(f"{base}/properties?q=zephyr+quay&stage=qualified")
            page.go_back()
            expect(rows).to_have_count(2)
            assert serious_axe_violations(page) == []

            # A property's page: edit in place, see a refusal next to its field, save.
            page.click("#properties-table a:has-text('2 Zephyr Quay')")
            expect(page.locator("#property h1")).to_contain_text("2 Zephyr Quay")
            expect(page.locator("#buyers")).to_contain_text("Zara Zephyr")
            page.click("#details button:has-text('Edit')")
            page.fill("form#details input[name=bird_dog_score]", "7")
            page.click("form#details button:has-text('Save')")
            expect(page.locator("form#details .error")).to_be_visible()
            page.fill("form#details input[name=bird_dog_score]", "0.5")
            page.fill("form#details input[name=tags]", "sea view, corner")
            page.click("form#details button:has-text('Save')")
            expect(page.locator("#details")).to_contain_text("corner")
            expect(page.locator("#timeline")).to_contain_text("Changed bird_dog_score, tags")
            assert serious_axe_violations(page) == []

            # A lead's best match, one click from a viewing: the booking form is filled with it.
            page.goto(f"{base}/leads/{lead_id}")
            expect(page.locator("#matches")).to_contain_text("1 Zephyr Quay")
            page.locator("#matches button:has-text('Book a viewing')").first.click()
            expect(page.locator("#book-appointment input[name=location]")).to_have_value("1 Zephyr Quay")
            expect(page.locator("#book-appointment input[name=starts_at]")).to_be_focused()
            page.fill("#book-appointment input[name=starts_at]", "2030-01-07T10:00")
            page.click("#book-appointment button:has-text('Book')")
            expect(page.locator("#timeline")).to_contain_text("Viewing booked for")  # the lead page redrew itself
            expect(page.locator("#appointments")).to_contain_text("1 Zephyr Quay")
            booked = api.get("/v2/appointments", params={"lead_id": lead_id}).json()["data"]
            assert [a["property_id"] for a in booked] == [dragged], booked

            # The portfolio screen, and every screen on a phone.
            page.goto(f"{base}/properties/portfolio")
            expect(page.locator("#stats")).to_contain_text("Properties")
            assert serious_axe_violations(page) == []
            phone = browser.new_page(strict_selectors=True, viewport={"width": 390, "height": 844})
            log_in(phone, base)
            for path in ("/properties", "/properties/board", f"/properties/{keyed}", "/properties/portfolio"):
                phone.goto(f"{base}{path}")
                settled(phone)
                width = phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, (path, width)
            assert errors == [], errors
            browser.close()
