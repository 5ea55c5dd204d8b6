"""Right to left in headless Chromium: a person who chooses Arabic gets pages laid out from the right (navigation,
headings, tables), at laptop and phone width, without overflow or serious axe violations; screenshots are kept."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, serious_axe_violations

pytestmark = pytest.mark.e2e


def test_arabic_pages_are_laid_out_right_to_left(tmp_path: Path) -> None:
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        token = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        created = httpx.post(
            f"{base}/v2/leads",
            headers={"Authorization": f"Bearer {token}"},
            json={"name": "أحمد الحسن", "preferred_location": "دبي مارينا"},
        )
        assert created.status_code == 201, created.text
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/login")
            page.fill("input[name=email]", DEMO_EMAIL)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/**")
            page.goto(f"{base}/account")
            page.select_option("#locale-form select[name=locale]", "ar")
            page.click("#locale-form button[type=submit]")
            expect(page.locator("html")).to_have_attribute("dir", "rtl")
            expect(page.locator("html")).to_have_attribute("lang", "ar")
            for width, height in ((1280, 900), (390, 844)):
                page.set_viewport_size({"width": width, "height": height})
                page.goto(f"{base}/leads?agent=any")
                heading = page.locator("main h1").first.bounding_box()
                assert heading is not None
                # Laid out from the right: the heading starts at the right edge, not the left.
                assert heading["x"] + heading["width"] > width * 0.8 and heading["x"] > width * 0.2, (width, heading)
                name = page.locator("#leads-table td[data-label=Name]").first.bounding_box()
                assert name is not None and name["x"] + name["width"] > width * 0.6, (width, name)
                assert page.evaluate("document.scrollingElement.scrollWidth") <= width + 1, f"no overflow at {width} px"
                assert serious_axe_violations(page) == []
                page.screenshot(path=str(tmp_path / f"leads-rtl-{width}.png"), full_page=False)
                assert (tmp_path / f"leads-rtl-{width}.png").stat().st_size > 10_000
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(f"{base}/account")
            page.select_option("#locale-form select[name=locale]", "")
            page.click("#locale-form button[type=submit]")
            expect(page.locator("html")).to_have_attribute("dir", "ltr")
            assert not errors, errors
            browser.close()
