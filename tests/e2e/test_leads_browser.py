"""A sales agent's session in headless Chromium: search, filter, open a lead, change it, see the timeline."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD, DEMO_TEAM
from app.leads import bulk
from app.leads.schemas import STATUSES
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port

pytestmark = pytest.mark.e2e

AGENT_NAME, AGENT_EMAIL = next((name, email) for name, email, role in DEMO_TEAM if role == "agent")


def test_search_filter_edit_and_timeline(tmp_path: Path) -> None:
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        token = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        for name, phone, status in (
            ("Ali Zephyr", "+971501234567", "QUALIFIED"),
            ("Sarah Zephyrine", "+971521234568", "NEW"),
            ("Tom Zephyrson", "+447700900123", "NEW"),
        ):
            assert httpx.post(f"{base}/v2/leads", headers=auth, json={"name": name, "phone": phone, "status": status}).status_code == 201
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(strict_selectors=True)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/leads")
            page.fill("input[name=email]", AGENT_EMAIL)  # a sales agent: the leads are unassigned, so theirs to work
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            rows = page.locator("#leads-table tbody tr")
            expect(rows).to_have_count(25)
            expect(page.locator(".filter-chips")).to_contain_text(f"Agent: {AGENT_NAME}")  # an agent starts on My leads
            page.locator(".filter-chip").click()  # removing the chip shows everyone's
            expect(page).to_have_url(f"{base}/leads?agent=any")
            expect(page.locator(".pager")).to_contain_text("of 3,003")  # the demo tenant's leads, a page at a time

            page.click(".pager a:has-text('Next')")  # the page is in the URL: Back returns to the first
            expect(page).to_have_url(f"{base}/leads?agent=any&offset=25")
            expect(page.locator(".pager")).to_contain_text("26\u201350")
            page.go_back()
            expect(page.locator(".pager")).to_contain_text("1\u201325")
            page.go_forward()
            expect(page.locator(".pager")).to_contain_text("26\u201350")
            page.goto(f"{base}/leads?agent=any")
            page.fill("#lead-filters input[name=q]", "zephyr")  # active search, debounced
            expect(rows).to_have_count(3)
            expect(page).to_have_url(f"{base}/leads?q=zephyr&agent=any")
            page.fill("#lead-filters input[name=q]", "zephyrine")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("Sarah Zephyrine")
            page.fill("#lead-filters input[name=q]", "zephyr")
            expect(rows).to_have_count(3)
            page.select_option("#lead-filters select[name=status]", "QUALIFIED")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("Ali Zephyr")
            page.go_back()  # the URL holds the state: Back shows the search without the filter, controls included
            expect(rows).to_have_count(3)
            expect(page.locator("#lead-filters select[name=status]")).to_have_value("")
            expect(page.locator("#lead-filters input[name=q]")).to_have_value("zephyr")
            page.reload()
            expect(rows).to_have_count(3)

            # A saved view with its filter chips: it survives reload and Back.
            page.select_option("#lead-filters select[name=status]", "NEW")
            expect(rows).to_have_count(2)
            page.locator("#saved-views summary").click()
            page.fill("#saved-views input[name=name]", "New zephyrs")
            page.click("#saved-views button:has-text('Save view')")
            expect(page.locator("#saved-views .view-chip.current")).to_contain_text("New zephyrs")
            page.goto(f"{base}/leads?agent=any")
            page.click("#saved-views a:has-text('New zephyrs')")
            expect(page).to_have_url(f"{base}/leads?q=zephyr&status=NEW&agent=any")
            expect(rows).to_have_count(2)
            expect(page.locator(".filter-chips")).to_contain_text("Status: New")
            page.reload()
            expect(rows).to_have_count(2)
            expect(page.locator("#saved-views .view-chip.current")).to_contain_text("New zephyrs")
            page.go_back()
            expect(page).to_have_url(f"{base}/leads?agent=any")
            page.go_forward()
            expect(page.locator(".filter-chips")).to_contain_text("Status: New")
            page.locator(".filter-chip:has-text('Status: New')").click()
            expect(rows).to_have_count(3)
            expect(page.locator("#lead-filters select[name=status]")).to_have_value("")

            # Bulk: select all three and take them.
            page.check("input[data-select-all]")
            page.select_option("#bulk select[name=bulk_agent]", label=AGENT_NAME)
            page.click("#bulk button[value=assign]")
            expect(page.locator(".flash")).to_contain_text(f"Assigned 3 leads to {AGENT_NAME}.")
            expect(rows.first).to_contain_text(AGENT_NAME)

            page.click("#leads-table a:has-text('Tom Zephyrson')")
            expect(page.locator("#lead h1")).to_contain_text("Tom Zephyrson")
            page.select_option("#lead select[name=status]", "CONTACTED")
            expect(page.locator("#timeline")).to_contain_text("Status NEW → CONTACTED")
            page.click("#details button:has-text('Edit')")
            page.fill("form#details input[name=phone]", "555")
            page.click("form#details button:has-text('Save')")
            expect(page.locator("form#details .error")).to_contain_text("Enter the phone in international format")
            page.fill("form#details input[name=phone]", "+44 7700 900 124")
            page.fill("form#details input[name=budget_max]", "750000")
            # The lead redrawn by the save reloads its cards; each keeps showing its content meanwhile (never the bare
            # placeholder, which would flash and move the page under the pointer).
            page.evaluate(
                """() => { window.cardGaps = []; new MutationObserver(() => {
                     const roi = document.getElementById("roi");
                     if (roi && !roi.querySelector("input")) window.cardGaps.push(roi.outerHTML.slice(0, 200));
                   }).observe(document.body, {subtree: true, childList: true}); }"""
            )
            page.click("form#details button:has-text('Save')")
            expect(page.locator("#details")).to_contain_text("+447700900124")
            expect(page.locator("#lead section[hx-trigger=load]")).to_have_count(0)
            assert page.evaluate("window.cardGaps") == [], "the ROI card showed its placeholder while it reloaded"
            expect(page.locator("#roi.reloading")).to_have_count(0)
            expect(page.locator("#timeline")).to_contain_text("Changed budget_max, phone")
            # The edit rescoring the lead (a job) redraws the page live; type once it has, as a person would
            # see it happen: a redraw landing between Playwright's focus and its typing would eat the text.
            expect(page.locator("#timeline")).to_contain_text("Score 10 → 18")
            # The redrawn lead reloads its cards (appointments, sequences, matches, ROI) above the note form: once
            # they are in, the booking form's own "notes" field is there too, so the note form is named.
            expect(page.locator("#lead section[hx-trigger=load]")).to_have_count(0)
            page.locator("#add-note textarea[name=notes]").fill("Prefers a call after 6pm")
            page.locator("#add-note button:has-text('Add note')").click()
            expect(page.locator("#timeline")).to_contain_text("Prefers a call after 6pm")
            assert not errors, errors
            browser.close()
        lead = httpx.get(f"{base}/v2/leads?q=Zephyrson", headers=auth).json()["data"][0]
        agent_id = next(u["id"] for u in httpx.get(f"{base}/v2/users", headers=auth).json()["data"] if u["email"] == AGENT_EMAIL)
        assert lead["agent_id"] == agent_id
        assert lead["status"] == "CONTACTED" and lead["phone"] == "+447700900124" and lead["budget_max"] == 750000


def test_select_all_matching_runs_a_large_bulk_change_with_live_progress(tmp_path: Path) -> None:
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        token = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        # A status of the demo tenant with more leads than the bulk change makes at once (its count is exact).
        totals = {s: httpx.get(f"{base}/v2/leads?status={s}&limit=1", headers=auth).json()["total"] for s in STATUSES}
        status, total = next((s, n) for s, n in sorted(totals.items(), key=lambda kv: kv[1]) if n > bulk.BACKGROUND_FROM)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/leads")
            page.fill("input[name=email]", DEMO_EMAIL)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{base}/leads?status={status}&agent=any")
            expect(page.locator(".pager")).to_contain_text(f"of {total:,}")
            page.check("#all-matching")  # every lead of the view, not only the 25 on this page
            page.select_option("#bulk select[name=bulk_agent]", label=AGENT_NAME)
            page.click("#bulk button[value=assign]")
            expect(page).to_have_url(re.compile(rf"{base}/leads/bulk/\d+$"))
            expect(page.locator("#bulk-progress")).to_contain_text(re.compile(rf"Assigned [\d,]+ leads? to {AGENT_NAME}\."), timeout=90_000)
            expect(page.locator("#bulk-progress")).to_contain_text(f"{total:,} of {total:,} leads")
            assert not errors, errors
            browser.close()
        agent_id = next(u["id"] for u in httpx.get(f"{base}/v2/users", headers=auth).json()["data"] if u["email"] == AGENT_EMAIL)
        mine = httpx.get(f"{base}/v2/leads?status={status}&agent_id={agent_id}&limit=1", headers=auth).json()
        assert mine["total"] == total, "every lead of the view, on every page, is the agent's"
