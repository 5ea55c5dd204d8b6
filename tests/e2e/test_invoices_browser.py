"""Finance issues an invoice in headless Chromium: the list's overdue tab (in the URL, Back works), a new invoice typed
line by line with its total worked out as they type, sent, an overpayment refused on screen, the rest paid (the list in
another tab follows live, the payment's page keeps its confirmation), the PDF downloaded and read back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from pypdf import PdfReader

from app.demo.loader import DEMO_PASSWORD, DEMO_TEAM
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, atrium_serve, free_port, settled

pytestmark = pytest.mark.e2e

FINANCE_EMAIL = next(email for _, email, role in DEMO_TEAM if role == "finance")


def test_finance_issues_an_invoice_takes_payment_and_downloads_the_pdf(tmp_path: Path) -> None:
    expect.set_options(timeout=15_000)
    with atrium_serve(tmp_path / "data", free_port()) as (base, _, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(strict_selectors=True, accept_downloads=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/invoices")
        page.fill("input[name=email]", FINANCE_EMAIL)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Invoices")
        settled(page)
        page.get_by_role("link", name="Overdue", exact=True).click()
        expect(page).to_have_url(f"{base}/invoices?overdue=1")
        rows = page.locator("#invoices-table tbody tr")
        expect(rows.first).to_have_class("overdue")
        assert rows.count() == page.locator("#invoices-table tbody tr.overdue").count()
        page.go_back()
        expect(page).to_have_url(f"{base}/invoices")

        page.get_by_role("link", name="New invoice").click()
        expect(page.locator("h1")).to_have_text("New invoice")
        settled(page)
        page.locator("input[name=customer_q]").fill("Palm")
        expect(page.locator("#customer option", has_text="Palm Capital")).to_have_count(1)
        settled(page)
        page.locator("#customer").select_option(label="Palm Capital")
        page.locator("input[name=line-0-description]").fill("Leasing fee, Marina Gate 2")
        page.locator("input[name=line-0-unit_price]").fill("12000")
        expect(page.locator("#invoice-total")).to_have_text("12,600.00")  # 5 % VAT, worked out as it was typed
        page.get_by_role("button", name="Add line").click()
        page.locator("input[name=line-1-description]").fill("Key handover")
        page.locator("input[name=line-1-quantity]").fill("2")
        page.locator("input[name=line-1-unit_price]").fill("150.50")
        expect(page.locator("#line-amount-1")).to_have_text("301.00")
        expect(page.locator("#invoice-total")).to_have_text("12,916.05")
        page.get_by_role("button", name="Add line").click()
        expect(page.locator("input[name=line-2-description]")).to_be_visible()
        page.locator("input[name=line-2-description]").fill("Typo line")
        page.locator("input[name=line-2-unit_price]").fill("999")
        expect(page.locator("#invoice-total")).to_have_text("13,965.00")
        page.get_by_role("button", name="Remove line 3").click()
        expect(page.locator("#invoice-total")).to_have_text("12,916.05")
        page.get_by_role("button", name="Create draft").click()
        expect(page.locator("h1")).to_contain_text("Draft INV-")
        number = page.locator("h1").inner_text().split()[1]
        page.get_by_role("button", name="Save and send").click()
        expect(page.locator("h1")).to_contain_text(f"Invoice {number}")
        page.reload()  # the invoice's own page (live), as finance opens it from the list
        expect(page.locator("h1")).to_contain_text(f"Invoice {number}")
        settled(page)

        # The list, open in a second tab, follows the invoice live.
        listing = context.new_page()
        listing.on("pageerror", lambda exc: errors.append(str(exc)))
        listing.goto(f"{base}/invoices?q={number}")
        row = listing.locator("#invoices-table tbody tr", has_text=number)
        expect(row.locator(".badge")).to_have_text("Sent")
        settled(listing)

        amount = page.locator("#payment-form input[name=amount]")
        amount.fill("13000")
        page.get_by_role("button", name="Record payment").click()
        expect(page.locator("#payment-form")).to_contain_text("Only AED 12,916.05 is still owed")
        amount = page.locator("#payment-form input[name=amount]")
        expect(amount).to_have_value("13000")
        amount.fill("12916.05")
        page.locator("#payment-form input[name=payment_reference]").fill("TT-99881")
        page.get_by_role("button", name="Record payment").click()
        expect(page.locator(".flash")).to_contain_text("paid in full")
        expect(page.locator("h1 .badge")).to_have_text("Paid")
        expect(page.locator("#payments")).to_contain_text("TT-99881")
        page.locator("#invoice").evaluate("region => { region.dataset.drawn = 'by the payment'; }")
        expect(row.locator(".badge")).to_have_text("Paid")  # live, in the other tab
        listing.wait_for_timeout(500)
        # The payment's own live events did not redraw the page that made it: its confirmation is still there.
        expect(page.locator("#invoice")).to_have_attribute("data-drawn", "by the payment")
        expect(page.locator(".flash")).to_contain_text("paid in full")
        listing.close()

        with page.expect_download() as download:
            page.get_by_role("link", name="Download PDF").click()
        assert download.value.suggested_filename == f"{number}.pdf"
        text = "\n".join(pg.extract_text() for pg in PdfReader(io.BytesIO(Path(download.value.path()).read_bytes())).pages)
        for expected in ("Palm Capital", "Leasing fee, Marina Gate 2", "12,916.05", "PAID", "TT-99881", "Page 1 of 1"):
            assert expected in text, expected
        assert "Typo line" not in text
        assert errors == [], errors
        browser.close()
