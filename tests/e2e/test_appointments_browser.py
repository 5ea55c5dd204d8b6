"""An agent books viewings from the lead page in headless Chromium (a double-booking refused on screen), then
finds them in the agenda's week view, moving through weeks with the keyboard and the URL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from app.demo.loader import DEMO_PASSWORD, DEMO_TEAM
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, settled

pytestmark = pytest.mark.e2e

AGENT_NAME, AGENT_EMAIL = next((name, email) for name, email, role in DEMO_TEAM if role == "agent")


def test_book_a_viewing_refuse_a_clash_and_see_the_week(tmp_path: Path) -> None:
    expect.set_options(timeout=15_000)
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        login = httpx.post(f"{base}/v2/auth/login", json={"email": AGENT_EMAIL, "password": DEMO_PASSWORD}).json()
        auth = {"Authorization": f"Bearer {login['access_token']}"}
        mine = httpx.get(f"{base}/v2/leads", headers=auth, params={"agent_id": login["userId"], "limit": 2}).json()["data"]
        first, second = mine[0], mine[1]
        # Three weeks ahead, on a Monday at 10:00 in the demo team's zone (Dubai): a free slot in the demo diary.
        dubai = ZoneInfo("Asia/Dubai")
        day = datetime.now(dubai).date() + timedelta(days=21)
        day -= timedelta(days=day.weekday())
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(strict_selectors=True)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/leads/{first['id']}")
            page.fill("input[name=email]", AGENT_EMAIL)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            card = page.locator("#appointments")
            expect(card.locator("h3")).to_have_text("Book a viewing")
            settled(page)
            card.locator("input[name=starts_at]").fill(f"{day.isoformat()}T10:00")
            card.locator("select[name=duration]").select_option("60")
            card.locator("input[name=location]").fill("Marina Gate 2, apartment 1804")
            card.locator("button:has-text('Book')").click()
            expect(page.locator("#timeline")).to_contain_text("Viewing booked for")  # the lead page redrew itself
            expect(page.locator("#appointments")).to_contain_text("Marina Gate 2, apartment 1804")

            page.goto(f"{base}/leads/{second['id']}")
            card = page.locator("#appointments")
            expect(card.locator("h3")).to_have_text("Book a viewing")
            settled(page)
            card.locator("input[name=starts_at]").fill(f"{day.isoformat()}T10:30")
            card.locator("button:has-text('Book')").click()
            refusal = page.locator("#appointments #err-starts_at")
            clash = f"{AGENT_NAME} is already booked on {day:%d %b %Y}, 10:00 to 11:00 UTC+04: viewing with {first['name']}"
            expect(refusal).to_contain_text(clash)
            expect(page.locator("#appointments input[name=starts_at]")).to_have_value(f"{day.isoformat()}T10:30")

            page.goto(f"{base}/agenda?view=week&date={day.isoformat()}&agent={login['userId']}")
            agenda = page.locator("#agenda")
            expect(agenda.locator("h2")).to_have_text(f"Week of {day:%d %B %Y}")
            expect(agenda).to_contain_text(first["name"])
            expect(agenda).not_to_contain_text(second["name"])
            page.locator("#agenda a:has-text('Next →')").focus()  # the keyboard alone moves through the weeks
            page.keyboard.press("Enter")
            following = day + timedelta(days=7)
            expect(page).to_have_url(f"{base}/agenda?view=week&date={following.isoformat()}&agent={login['userId']}")
            expect(page.locator("#agenda h2")).to_have_text(f"Week of {following:%d %B %Y}")
            page.go_back()
            expect(page.locator("#agenda h2")).to_have_text(f"Week of {day:%d %B %Y}")
            agenda.get_by_role("link", name="Day", exact=True).click()
            expect(page).to_have_url(f"{base}/agenda?view=day&date={day.isoformat()}&agent={login['userId']}")
            expect(page.locator("#agenda")).to_contain_text(first["name"])
            page.reload()
            expect(page.locator("#agenda h2")).to_have_text(f"{day:%A %d %B %Y}")
            assert errors == [], errors
            browser.close()
