"""An agent on a phone-sized screen (390 px) works from My day in headless Chromium: the ranked call-next queue
shows why each lead is there with one-tap call, WhatsApp and e-mail links; the agent calls the top lead, logs the
outcome, a note and the next step in one form, and sees the queue update; the same agent's second screen drops a
finished task live (SSE); times are labelled with the agent's zone (the demo's Asia/Dubai)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from app.demo.loader import DEMO_PASSWORD, DEMO_TEAM
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, settled

pytestmark = pytest.mark.e2e

AGENT_EMAIL = next(email for _, email, role in DEMO_TEAM if role == "agent")
PHONE = {"width": 390, "height": 844}


def test_an_agent_calls_the_top_lead_and_logs_the_outcome_and_next_step_in_one_move(tmp_path: Path) -> None:
    expect.set_options(timeout=15_000)
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        token = httpx.post(f"{base}/v2/auth/login", json={"email": AGENT_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(strict_selectors=True, viewport=PHONE, has_touch=True, is_mobile=True)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/login")
            page.fill("input[name=email]", AGENT_EMAIL)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_have_text("My day")  # the agent's start page
            expect(page.locator("#my-day .page-head")).to_contain_text("Times in Asia/Dubai")
            expect(page.locator("#overdue-list time").first).to_contain_text("UTC+04")

            queue = page.locator("#call-queue > li")
            top = queue.first
            name = top.locator(".item-title").inner_text()
            lead_id = int(top.get_attribute("id").removeprefix("lead-"))  # type: ignore[union-attr]
            expect(top.locator(".reason")).to_contain_text("no next step")
            call = top.get_by_role("link", name=f"Call {name}")
            assert call.get_attribute("href", timeout=5_000).startswith("tel:+971")  # type: ignore[union-attr]
            assert top.get_by_role("link", name=f"WhatsApp {name}").get_attribute("href").startswith("https://wa.me/971")  # type: ignore[union-attr]
            box = call.bounding_box()
            assert box is not None and box["height"] >= 44 and box["width"] >= 44, box  # a thumb-sized target

            # The agent's second screen (a desktop tab) shows the same day and redraws live.
            other = context.browser.new_context(strict_selectors=True, viewport={"width": 1280, "height": 900}) if context.browser else None
            assert other is not None
            desk = other.new_page()
            desk.goto(f"{base}/login")
            desk.fill("input[name=email]", AGENT_EMAIL)
            desk.fill("input[name=password]", DEMO_PASSWORD)
            desk.click("button[type=submit]")
            expect(desk.locator(f"#lead-{lead_id}")).to_be_visible()
            settled(desk)

            settled(page)
            top.locator("summary:has-text('Log outcome')").tap()
            form = top.locator("form.outcome-form")
            form.get_by_label("Interested", exact=True).check()
            form.locator("textarea[name=notes]").fill("Wants a second viewing with the family")
            form.locator("select[name=next_type]").select_option("viewing")
            form.locator("input[name=next_subject]").fill(f"Viewing with {name}")
            submit = form.get_by_role("button", name="Save outcome and next step")
            submit_box = submit.bounding_box()
            assert submit_box is not None and submit_box["height"] >= 44
            submit.tap()

            expect(page.locator("#my-day .notice")).to_contain_text(f"Next: Viewing with {name}")
            expect(page.locator(f"#lead-{lead_id}")).to_have_count(0)  # the queue updated: it has a next step now
            expect(page.locator("#upcoming-list")).to_contain_text(f"Viewing with {name}")
            expect(desk.locator(f"#lead-{lead_id}")).to_have_count(0)  # live on the other screen too
            expect(desk.locator("#upcoming-list")).to_contain_text(f"Viewing with {name}")

            # A mention in a note notifies live: the manager writes "@Omar" on the lead; the bell counts it at once.
            before = desk.locator("#notifications-badge").inner_text()
            manager = next(email for _, email, role in DEMO_TEAM if role == "manager")
            boss = httpx.post(f"{base}/v2/auth/login", json={"email": manager, "password": DEMO_PASSWORD}).json()["token"]
            noted = httpx.patch(f"{base}/v2/leads/{lead_id}", headers={"Authorization": f"Bearer {boss}"},
                                json={"notes": "@Omar the family wants Saturday morning"})  # fmt: skip
            assert noted.status_code == 200, noted.text
            expect(desk.locator("#notifications-badge")).not_to_have_text(before)
            desk.locator("#notifications-badge").click()
            expect(desk.locator("#notifications")).to_contain_text("the family wants Saturday morning")

            calls = httpx.get(f"{base}/v2/calls", headers=auth, params={"lead_id": lead_id}).json()["data"]
            assert [(c["status"], c["disposition"]) for c in calls] == [("completed", "interested")]
            assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"] + 1
            assert errors == [], errors
            browser.close()
