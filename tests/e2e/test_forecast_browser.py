"""The sales forecast and the assistant card in headless Chromium, on the demo's three years of won deals: the chart
draws (history, forecast, band, pipeline bars), the months chosen live in the URL, Back restores them, the page passes
axe-core, fits a 390 px phone, and a lead's assistant card answers a question in place."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, serious_axe_violations, settled

pytestmark = pytest.mark.e2e


def test_forecast_page_and_assistant_card_in_the_browser(tmp_path: Path) -> None:
    expect.set_options(timeout=15_000)
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        token = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        lead = api.get("/v2/leads", params={"limit": 1, "sort": "-hotness_score"}).json()["data"][0]["id"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
            page.goto(f"{base}/login")
            page.fill("input[name=email]", DEMO_EMAIL)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/**")

            page.goto(f"{base}/analytics/forecast")
            chart = page.locator("#forecast-chart svg[role=img]")
            expect(chart).to_be_visible()
            assert chart.bounding_box()["height"] > 150  # type: ignore[index]
            expect(chart.locator("polyline")).to_have_count(2)  # history and forecast
            expect(chart.locator("polygon")).to_have_count(1)  # the confidence band
            assert chart.locator("rect[fill='#6b8e23']").count() > 0  # weighted pipeline bars
            expect(page.locator("#forecast-chart-table tbody tr")).to_have_count(12)
            expect(page.locator("#forecast-method")).to_contain_text("Holt-Winters")
            expect(page.locator("#forecast-insights li").first).to_be_visible()
            assert serious_axe_violations(page) == []

            page.select_option("select[name=months]", "6")
            page.wait_for_url(f"{base}/analytics/forecast?months=6")
            expect(page.locator("#forecast-chart-table tbody tr")).to_have_count(6)
            page.go_back()
            page.wait_for_url(f"{base}/analytics/forecast")
            expect(page.locator("#forecast-chart-table tbody tr")).to_have_count(12)

            phone = browser.new_page(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
            phone.goto(f"{base}/analytics/forecast?months=24")
            wide = phone.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 390 && !e.closest('table'))"
                ".map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 12)"
            )
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390, wide
            assert phone.locator("#forecast-chart svg[role=img]").bounding_box()["width"] <= 390  # type: ignore[index]
            phone.close()

            # The assistant card on a lead's page answers in place, saying it is rule-based.
            page.goto(f"{base}/leads/{lead}")
            card = page.locator("#assistant")
            expect(card.locator("#assistant-form")).to_be_visible()
            settled(page)
            card.locator("select[name=context]").select_option("objection_handling")
            card.locator("input[name=question]").fill("They think the price is too high")
            card.locator("button[type=submit]").click()
            expect(page.locator("#assistant-answer")).to_contain_text("Rule-based answer")
            expect(page.locator("#assistant-answer")).to_contain_text("Next steps")
            assert page.url == f"{base}/leads/{lead}"
            assert serious_axe_violations(page) == []
            assert errors == [], errors
            browser.close()
