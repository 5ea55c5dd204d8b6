"""Every screen, as an admin in headless Chromium at laptop and phone width: no serious axe-core violation,
nothing wider than a 390 px phone, nothing refused by the Content-Security-Policy, and lists that keep
their state in the URL (Back, reload, a shared link)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from app.asgi import create_app
from app.demo.loader import DEMO_EMAIL, DEMO_PASSWORD
from app.leads import bulk
from app.settings import load_settings
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, serious_axe_violations, settled
from tests.helpers import csrf_of
from tests.webhooks.receiver import receiving

pytestmark = pytest.mark.e2e

# Routes that are parts of screens or downloads, not screens: checked where they are used.
NOT_SCREENS = {
    "/appointments/{appointment_id:int}/ics",  # an iCalendar download
    "/calendar/{feed:str}",  # a calendar app's feed (no session)
    "/events/stream",  # the live-update stream
    "/imports/{import_id:int}/progress",  # the import page's progress block
    "/imports/{import_id:int}/report",  # a CSV download
    "/leads/export",  # a CSV / Excel download
    "/leads/exports/{export_id:int}/file",  # an Excel download
    "/leads/{lead_id:int}/details",  # the lead page's details block
    "/leads/{lead_id:int}/edit",  # the lead page's details form (opened in the focus test below)
    "/notifications/badge",  # the top bar's counter
    "/pipeline/deals/{deal_id:int}",  # a deal's side panel (its own URL is the board's ?deal=, visited below)
    "/pipeline/stages/{stage_id:int}/cards",  # a column's next cards, as it scrolls
    "/properties/board/{stage:str}/cards",  # a property column's next cards, as it scrolls
    "/properties/{property_id:int}/details",  # a property page's details block
    "/properties/{property_id:int}/edit",  # a property page's details form
    "/properties/{property_id:int}/buyers",  # a property page's matching-buyers card
    "/leads/{lead_id:int}/matches",  # a lead page's best-matches card
    "/settings",  # redirects to /settings/team
    "/invoices/customers",  # the invoice editor's customer options, as the person searches
    "/invoices/{invoice_id:int}/pdf",  # a PDF download
    "/invoices/batches/{batch_id:int}",  # the invoice list's progress bar of a batch
    "/expenses/{expense_id:int}/receipt",  # a receipt download
    "/reports/profit-loss/export",  # a CSV / Excel download
    "/billing/logo",  # the logo image on the billing settings
    "/leads/{subject_id:int}/roi/pdf",  # a PDF download
    "/analytics/export.pdf",  # a PDF download
    "/analytics/export.xlsx",  # an Excel download
    "/{section:str}",  # a placeholder of a section still to come (none is left: analytics replaced the last)
    "/properties/{subject_id:int}/roi/pdf",  # a PDF download
}


def screen_routes() -> set[str]:
    """Every GET route of the browser UI."""
    app = create_app(load_settings(), "postgresql://unused@127.0.0.1/unused")
    return {
        route.path
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if "GET" in (handler.http_methods or ()) and not route.path.startswith(("/v2", "/static"))
    }


def _wait(check: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _checked(page: Page, url: str, width: int) -> None:
    page.goto(url)
    assert page.locator("main#main").count() == 1, f"{url} renders inside the layout"
    problems = serious_axe_violations(page)
    assert problems == [], f"{url} at {width} px: {problems}"
    overflow = page.evaluate("document.scrollingElement.scrollWidth")
    assert overflow <= width + 1, f"{url} is {overflow} px wide on a {width} px screen"


def _no_op_bulk_operation(base: str, api: httpx.Client) -> str:
    """A background bulk change's page: "all matching" of an agent's leads (more than a synchronous change takes),
    assigned to that same agent, so nothing else on the demo changes."""
    owners = [u["id"] for u in api.get("/v2/users").json()["data"]]
    agent = next(u for u in owners if api.get("/v2/leads", params={"agent_id": u, "limit": 1}).json()["total"] > bulk.BACKGROUND_FROM)
    with httpx.Client(base_url=base, timeout=10) as web:
        token = csrf_of(web.get("/login").text)
        web.post("/login", data={"_csrf_token": token, "email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        token = csrf_of(web.get("/leads").text)
        form = {"_csrf_token": token, "all_matching": "1", "agent": str(agent), "action": "assign", "bulk_agent": str(agent)}
        started = web.post("/leads/bulk", data=form)
    assert started.status_code == 303, started.text[:300]
    return started.headers["location"]


def test_every_screen_is_accessible_fits_a_phone_and_keeps_its_state_in_the_url(tmp_path: Path) -> None:
    expect.set_options(timeout=15_000)  # the suite shares two cores with a second Atrium: swaps may take seconds
    with atrium_serve(tmp_path / "data", free_port(), WEBHOOK_ALLOW_PRIVATE_TARGETS="1") as (base, _, _), receiving() as receiver:
        token = httpx.post(f"{base}/v2/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}).json()["token"]
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        lead = api.get("/v2/leads", params={"limit": 1}).json()["data"][0]["id"]
        contact = api.get("/v2/contacts", params={"limit": 1}).json()["data"][0]["id"]
        company = api.get("/v2/companies", params={"limit": 1}).json()["data"][0]["id"]
        deal = api.get("/v2/deals", params={"limit": 1, "status": "open"}).json()["data"][0]["id"]
        paid = api.get("/v2/invoices", params={"limit": 1, "status": "paid"}).json()["data"][0]["id"]
        draft = api.get("/v2/invoices", params={"limit": 1, "status": "draft"}).json()["data"][0]["id"]
        hook = api.post("/v2/webhooks", json={"url": receiver.url, "events": ["lead.created"]}).json()["id"]
        api.post("/v2/leads", json={"name": "Screen Check", "phone": "+971509990001"})
        _wait(lambda: api.get(f"/v2/webhooks/{hook}/deliveries").json()["data"])
        delivery = api.get(f"/v2/webhooks/{hook}/deliveries").json()["data"][0]["id"]
        csv = b"name,phone\nIm Port,+971509990002\n"
        imported = api.post("/v2/imports", files={"file": ("a.csv", csv, "text/csv")}, data={"kind": "leads"})
        exported = api.post("/v2/export/leads/jobs")
        assert imported.status_code == 201 and exported.status_code == 202
        ticket = api.get("/v2/support/tickets", params={"limit": 1}).json()["data"][0]["id"]
        listed = api.get("/v2/properties", params={"limit": 1, "stage": "negotiation"}).json()[0]["id"]
        article = api.get("/v2/knowledge-base/articles", params={"limit": 1}).json()["data"][0]["id"]
        customer_page = api.get(f"/v2/support/tickets/{ticket}").json()["customer_url"].split("/support/requests/")[1]
        template = api.get("/v2/communications/templates").json()[0]["id"]
        memo = api.get("/v2/communications", params={"transport": "outbox", "channel": "email", "limit": 1}).json()["data"][0]
        unsubscribe = "/unsubscribe/" + memo["body"].split("/unsubscribe/")[1].split()[0]
        invitation = api.post("/v2/users", json={"email": "screen-check@example.com", "role": "agent"})
        assert invitation.status_code == 201, invitation.text
        bulk_operation = _no_op_bulk_operation(base, api)
        screens = {
            "/": "/",
            "/dashboard": "/dashboard",
            "/my-day": "/my-day",
            "/account": "/account",
            "/agenda": "/agenda?view=week",
            "/companies": "/companies",
            "/companies/{company_id:int}": f"/companies/{company}",
            "/contacts": "/contacts",
            "/contacts/{contact_id:int}": f"/contacts/{contact}",
            "/imports/new": "/imports/new",
            "/invitations/{token:str}": invitation.json()["accept_url"].removeprefix(base),
            "/imports/{import_id:int}": f"/imports/{imported.json()['id']}",
            "/leads": "/leads",
            "/leads/exports/{export_id:int}": f"/leads/exports/{exported.json()['id']}",
            "/leads/bulk/{operation_id:int}": bulk_operation,
            "/leads/new": "/leads/new",
            "/leads/{lead_id:int}": f"/leads/{lead}",
            "/leads/{lead_id:int}/appointments": f"/leads/{lead}/appointments",
            "/leads/{subject_id:int}/roi": f"/leads/{lead}/roi",
            "/leads/{lead_id:int}/tasks": f"/leads/{lead}/tasks",
            "/invoices": "/invoices?overdue=1",
            "/invoices/new": f"/invoices/new?deal={deal}",
            "/invoices/{invoice_id:int}": f"/invoices/{paid}",
            "/expenses": "/expenses",
            "/reports/profit-loss": "/reports/profit-loss?group_by=quarter",
            "/billing/settings": "/billing/settings",
            "/login": "/login",  # logged out, below
            "/notifications": "/notifications",
            "/pipeline": f"/pipeline?deal={deal}",
            "/pipeline/deals/new": "/pipeline/deals/new",
            "/settings/api-keys": "/settings/api-keys",
            "/settings/audit-log": "/settings/audit-log",
            "/settings/jobs": "/settings/jobs",
            "/settings/sla": "/settings/sla?saved=targets",
            "/settings/telephony": "/settings/telephony",
            "/settings/automation": "/settings/automation",
            "/settings/team": "/settings/team",
            "/settings/webhooks": "/settings/webhooks",
            "/settings/webhooks/{webhook_id:int}": f"/settings/webhooks/{hook}",
            "/settings/webhooks/{webhook_id:int}/deliveries/{delivery_id:int}": f"/settings/webhooks/{hook}/deliveries/{delivery}",
            "/workspaces": "/workspaces",
            "/tickets": "/tickets",
            "/tickets/new": "/tickets/new",
            "/tickets/{ticket_id:int}": f"/tickets/{ticket}",
            "/tickets/{ticket_id:int}/reply-box": f"/tickets/{ticket}/reply-box",  # the reply box without JavaScript
            "/canned-replies": "/canned-replies",
            "/support/requests/{token:str}": f"/support/requests/{customer_page}",  # the requester's page
            "/knowledge-base": "/knowledge-base?q=password",
            "/knowledge-base/new": "/knowledge-base/new",
            "/knowledge-base/{article_id:int}": f"/knowledge-base/{article}",
            "/knowledge-base/{article_id:int}/edit": f"/knowledge-base/{article}/edit",
            "/properties": "/properties?stage=outreach",
            "/properties/board": "/properties/board",
            "/properties/new": "/properties/new",
            "/properties/portfolio": "/properties/portfolio",
            "/properties/{property_id:int}": f"/properties/{listed}",
            "/properties/{subject_id:int}/roi": f"/properties/{listed}/roi",
            "/calls": "/calls",
            "/calls/new": f"/calls/new?ticket_id={ticket}",
            "/calls/analytics": "/calls/analytics",
            "/campaigns": "/campaigns",
            "/messages": "/messages?status=replied",
            "/messages/outbox": "/messages/outbox",
            "/messages/providers": "/messages/providers",
            "/messages/templates": "/messages/templates",
            "/messages/templates/new": "/messages/templates/new",
            "/messages/templates/{template_id:int}": f"/messages/templates/{template}",
            "/messages/send": f"/messages/send?lead_id={lead}",
            "/leads/{lead_id:int}/sequences": f"/leads/{lead}/sequences",
            "/unsubscribe/{token:str}": unsubscribe,  # a recipient's page (no login needed)
            "/analytics": "/analytics?period=90d",
            "/analytics/forecast": "/analytics/forecast?months=12",
            "/analytics/forecast-card": "/analytics/forecast-card",  # the dashboard's forecast card on its own
            "/analytics/segments": "/analytics/segments",
            "/leads/{lead_id:int}/assistant": f"/leads/{lead}/assistant",  # the assistant card without JavaScript
        }
        assert screen_routes() - NOT_SCREENS == set(screens), "a new screen is added to this test (or NOT_SCREENS)"

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for width, height in ((1280, 900), (390, 844)):
                page = browser.new_page(strict_selectors=True, viewport={"width": width, "height": height})
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                # Nothing of Atrium's own is refused by its Content-Security-Policy (no inline script or style).
                page.on("console", lambda msg, errors=errors: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
                _checked(page, f"{base}/login", width)
                page.fill("input[name=email]", DEMO_EMAIL)
                page.fill("input[name=password]", DEMO_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/**")
                for path in [*screens.values(), f"/invoices/{draft}"]:  # a draft opens in the invoice editor
                    if path != "/login":
                        _checked(page, f"{base}{path}", width)
                _checked(page, f"{base}/leads/999999999", width)  # the not-found page, in the layout
                assert errors == [], errors
                page.close()

            page = browser.new_page(strict_selectors=True, viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/login")
            page.fill("input[name=email]", DEMO_EMAIL)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/**")

            # Contacts: a search and the next page live in the URL; Back and reload give the same view and controls.
            page.goto(f"{base}/contacts")
            page.fill("input[name=q]", "a")
            page.wait_for_url(f"{base}/contacts?q=a")
            page.click("#contact-results a:has-text('Older')")
            page.wait_for_url(f"{base}/contacts?offset=25&q=a")
            first_on_page_2 = page.locator("#contacts-table tbody tr").first.inner_text()
            page.reload()
            expect(page.locator("input[name=q]")).to_have_value("a")
            assert page.locator("#contacts-table tbody tr").first.inner_text() == first_on_page_2
            page.go_back()
            page.wait_for_url(f"{base}/contacts?q=a")
            expect(page.locator("input[name=q]")).to_have_value("a")
            expect(page.locator(".pager")).to_contain_text("1\u201325")

            # Companies: the search is kept the same way.
            page.goto(f"{base}/companies")
            page.fill("input[name=q]", "dub")
            page.wait_for_url(f"{base}/companies?q=dub")
            page.reload()
            expect(page.locator("input[name=q]")).to_have_value("dub")

            # Audit log: the filter and the page.
            page.goto(f"{base}/settings/audit-log?action=user.joined")
            expect(page.locator("input[name=action]")).to_have_value("user.joined")
            expect(page.locator("#audit-table tbody")).to_contain_text("user.joined")

            # Focus follows a form opening and closing, by keyboard alone.
            page.goto(f"{base}/leads/{lead}")
            settled(page)
            page.locator("[data-opens=details]").focus()
            page.keyboard.press("Enter")
            expect(page.locator("form#details")).to_be_visible()
            page.wait_for_function("() => document.activeElement.closest('form#details') !== null")  # focus moves into the form
            page.locator("form#details input[name=phone]").fill("12345")
            page.locator("form#details input[name=phone]").press("Enter")
            expect(page.locator("form#details .error")).to_contain_text("Enter the phone in international format")
            page.wait_for_function("() => document.activeElement.name === 'phone'")  # focus goes to the field to fix
            settled(page)
            page.locator("form#details button:has-text('Cancel')").focus()
            page.keyboard.press("Enter")
            expect(page.locator("form#details")).to_have_count(0)
            page.wait_for_function("() => document.activeElement.dataset.opens === 'details'")  # focus returns to Edit
            browser.close()
