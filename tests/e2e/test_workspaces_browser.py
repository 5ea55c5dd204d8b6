"""People in several workspaces, in headless Chromium: an admin invites an address that already has an account
elsewhere and a new one (the Team screen answers alike), both join from their links, and the person in two
workspaces picks one after logging in and switches from the top bar."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, settled

pytestmark = pytest.mark.e2e

OTHER_ADMIN = "owner@second-agency.example.com"
OTHER_PASSWORD = "second agency password"


def _log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def _invite(page: Page, email: str, role: str) -> str:
    """Invite `email` on the Team screen; returns the link the screen shows."""
    form = page.locator("#invite-form")
    form.locator("input[name=email]").fill(email)
    form.locator("select[name=role]").select_option(role)
    form.locator("button[type=submit]").click()
    link = page.locator("#invite-link")
    expect(link).to_be_visible()
    expect(page.locator("#invited")).to_contain_text(email)
    settled(page)
    return link.input_value()


def _fresh_page(browser: Browser) -> Page:
    return browser.new_context(strict_selectors=True, viewport={"width": 1280, "height": 900}).new_page()


def test_invite_accept_pick_and_switch_workspaces(tmp_path: Path) -> None:
    expect.set_options(timeout=15_000)
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _):
        registered = httpx.post(
            f"{base}/v2/auth/register", json={"email": OTHER_ADMIN, "password": OTHER_PASSWORD, "tenant_name": "Second Agency"}
        )
        assert registered.status_code == 201, registered.text
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            errors: list[str] = []
            admin = _fresh_page(browser)
            admin.on("pageerror", lambda exc: errors.append(str(exc)))
            _log_in(admin, base, DEMO_EMAIL, DEMO_PASSWORD)
            admin.wait_for_url(f"{base}/")
            admin.goto(f"{base}/settings/team")

            # An address with an account in another tenant and a new one: the screen answers alike.
            existing_link = _invite(admin, OTHER_ADMIN, "manager")
            existing_notice = admin.locator("#invited").inner_text().replace(OTHER_ADMIN, "<address>")
            new_link = _invite(admin, "newbie@example.com", "agent")
            assert admin.locator("#invited").inner_text().replace("newbie@example.com", "<address>") == existing_notice
            pending = admin.locator("#invitations-table tbody tr")
            expect(pending).to_have_count(2)

            # A third invitation is withdrawn: its row goes and its link stops working.
            withdrawn_link = _invite(admin, "changed-mind@example.com", "support")
            row = admin.locator("#invitations-table tbody tr", has_text="changed-mind@example.com")
            admin.once("dialog", lambda dialog: dialog.accept())
            row.locator("button:has-text('Withdraw')").click()
            expect(row).to_have_count(0)
            assert httpx.get(withdrawn_link).status_code == 404

            # The new person chooses a password and a name, and is in.
            newbie = _fresh_page(browser)
            newbie.goto(new_link)
            expect(newbie.locator("h1")).to_contain_text("Join Demo Realty")
            newbie.fill("input[name=password]", "my own new password")
            newbie.fill("input[name=full_name]", "Nina Newbie")
            newbie.click("#accept-form button[type=submit]")
            newbie.wait_for_url(f"{base}/")
            expect(newbie.locator("#workspace-switcher")).to_have_text("Demo Realty")

            # The other agency's owner joins with the password of their existing account.
            owner = _fresh_page(browser)
            owner.goto(existing_link)
            owner.fill("input[name=password]", "not my password")
            owner.click("#accept-form button[type=submit]")
            expect(owner.locator("#accept-form")).to_contain_text("Invalid email or password")
            owner.fill("input[name=password]", OTHER_PASSWORD)
            owner.click("#accept-form button[type=submit]")
            owner.wait_for_url(f"{base}/")
            expect(owner.locator("#workspace-switcher")).to_have_text("Demo Realty")

            # Logging in again, they pick the workspace, then switch from the top bar.
            owner.context.clear_cookies()
            _log_in(owner, base, OTHER_ADMIN, OTHER_PASSWORD)
            owner.wait_for_url(f"{base}/workspaces**")
            choices = owner.locator("#workspaces button")
            expect(choices).to_have_count(2)
            owner.click("#workspaces button:has-text('Second Agency')")
            owner.wait_for_url(f"{base}/")
            expect(owner.locator("#workspace-switcher")).to_have_text("Second Agency")
            owner.goto(f"{base}/settings/team")
            expect(owner.locator("#team-table")).to_contain_text(OTHER_ADMIN)
            expect(owner.locator("#team-table")).not_to_contain_text("newbie@example.com")

            owner.click("#workspace-switcher")
            owner.wait_for_url(f"{base}/workspaces")
            expect(owner.locator("#workspaces button[aria-current=true]")).to_contain_text("Second Agency")
            owner.click("#workspaces button:has-text('Demo Realty')")
            owner.wait_for_url(f"{base}/")
            expect(owner.locator("#workspace-switcher")).to_have_text("Demo Realty")
            expect(owner.locator(".whoami .badge")).to_have_text("manager")

            admin.reload()
            expect(admin.locator("#team-table")).to_contain_text(OTHER_ADMIN)
            expect(admin.locator("#team-table")).to_contain_text("Nina Newbie")
            assert not admin.locator("#invitations-table").count(), "no invitation left pending"
            assert errors == [], errors
            browser.close()
