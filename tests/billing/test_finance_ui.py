"""The expenses, P&L and billing settings screens over HTTP: forms with errors in place, receipts, the report's chart and
table with the range in the URL, its downloads; who sees them."""

from __future__ import annotations

import httpx

from tests.billing.test_expenses_and_pnl_api import PDF, expense
from tests.billing.test_invoices_api import company, sent_invoice
from tests.factories import Tenants
from tests.helpers import browser_client, browser_login, csrf_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_recording_expenses_with_a_receipt_and_filtering_them(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    await browser_login(client, admin)
    page = await client.get("/expenses")
    assert page.status_code == 200 and "Record an expense" in page.text and '<option value="Rent">' in page.text
    token = csrf_of(page.text)
    form = {
        "_csrf_token": token,
        "expense_date": "2026-03-01",
        "category": "Rent",
        "vendor": "Bay Square",
        "amount": "5,000",
        "tax_amount": "250",
    }
    bad = await client.post("/expenses", data={**form, "amount": "lots"}, files={"receipt": ("r.pdf", PDF, "application/pdf")})
    assert bad.status_code == 422 and 'id="err-amount"' in bad.text and 'value="lots"' in bad.text
    wrong_file = await client.post("/expenses", data=form, files={"receipt": ("r.txt", b"hello", "text/plain")})
    assert wrong_file.status_code == 422 and 'id="err-receipt"' in wrong_file.text
    assert (await client.get("/v2/expenses", headers=admin.auth)).json()["total"] == 0, "nothing recorded by a refused form"
    done = await client.post("/expenses", data=form, files={"receipt": ("March rent.pdf", PDF, "application/pdf")})
    assert done.status_code == 303
    [recorded] = (await client.get("/v2/expenses", headers=admin.auth)).json()["data"]
    assert recorded["amount"] == 5000 and recorded["receipt_name"] == "March rent.pdf"
    await expense(client, admin, expense_date="2026-04-01", category="Software", amount=99)
    listed = await client.get("/expenses?category=Rent", headers={"HX-Request": "true", "HX-Target": "expense-results"})
    assert listed.text.lstrip().startswith('<div id="expense-results"') and "Bay Square" in listed.text and "Software" not in listed.text
    assert listed.headers["hx-push-url"] == "/expenses?category=Rent"
    receipt = await client.get(f"/expenses/{recorded['id']}/receipt")
    assert receipt.content == PDF


async def test_the_profit_and_loss_screen_draws_the_periods_and_offers_the_files(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    invoice = await sent_invoice(
        client, admin, customer_account_id=await company(client, admin), issue_date="2026-02-10", subtotal=1000, tax_rate=0
    )
    await client.post(f"/v2/invoices/{invoice['id']}/payments", headers=admin.auth, json={"amount": 400, "paid_at": "2026-02-20T10:00:00Z"})
    await expense(client, admin, expense_date="2026-02-01", category="Rent", amount=300)
    await browser_login(client, admin)
    page = await client.get("/reports/profit-loss?start_date=2026-01-01&end_date=2026-03-31&group_by=month")
    assert page.status_code == 200 and "<svg" in page.text and 'class="bar-revenue"' in page.text
    for text in ("2026-01", "2026-02", "2026-03", "1,000.00", "400.00", "300.00", "700.00"):
        assert text in page.text, text
    assert (
        'href="/reports/profit-loss/export?format=xlsx&amp;start_date=2026-01-01&amp;end_date=2026-03-31&amp;group_by=month"' in page.text
    )
    by_quarter = await client.get(
        "/reports/profit-loss?start_date=2026-01-01&end_date=2026-03-31&group_by=quarter",
        headers={"HX-Request": "true", "HX-Target": "pnl-report"},
    )
    assert by_quarter.text.lstrip().startswith('<div id="pnl-report"') and "2026-Q1" in by_quarter.text
    assert by_quarter.headers["hx-push-url"] == "/reports/profit-loss?start_date=2026-01-01&end_date=2026-03-31&group_by=quarter"
    backwards = await client.get("/reports/profit-loss?start_date=2026-03-01&end_date=2026-01-01")
    assert backwards.status_code == 200 and "The end date cannot be before the start date" in backwards.text
    csv_file = await client.get("/reports/profit-loss/export?format=csv&start_date=2026-01-01&end_date=2026-03-31")
    assert csv_file.status_code == 200 and "Total" in csv_file.content.decode("utf-8-sig")


async def test_billing_settings_change_what_invoices_say(client: httpx.AsyncClient, tenants: Tenants, app: object) -> None:
    admin = await tenants.create()
    await browser_login(client, admin)
    page = await client.get("/billing/settings")
    assert page.status_code == 200 and 'value="INV-{YYYY}-{NNNN}"' in page.text
    token = csrf_of(page.text)
    form = {"_csrf_token": token, "legal_name": "Palm Realty LLC", "currency": "aed", "default_tax_rate": "5", "payment_terms_days": "14"}
    form |= {"number_pattern": "PR/{YY}/{NNNNN}", "credit_note_pattern": "CN-{YYYY}-{NNNN}"}
    bad = await client.post("/billing/settings", data={**form, "number_pattern": "INV-{NN}"})
    assert bad.status_code == 422 and 'id="err-number_pattern"' in bad.text
    saved = await client.post("/billing/settings", data=form, files={"logo": ("logo.png", PNG, "image/png")})
    assert saved.status_code == 303
    settings = (await client.get("/v2/billing/settings", headers=admin.auth)).json()
    assert (settings["legal_name"], settings["currency"], settings["default_tax_rate"], settings["payment_terms_days"]) == (
        "Palm Realty LLC",
        "AED",
        0.05,
        14,
    )
    assert settings["has_logo"] and (await client.get("/billing/logo")).content == PNG
    invoice = (
        await client.post(
            "/v2/invoices",
            headers=admin.auth,
            json={"customer_account_id": await company(client, admin), "subtotal": 100, "issue_date": "2026-05-01"},
        )
    ).json()
    assert invoice["invoice_number"] == "PR/26/00001" and invoice["tax_amount"] == 5 and invoice["due_date"] == "2026-05-15"
    finance = await tenants.add_user(admin, "finance")
    manager = await tenants.add_user(admin, "manager")
    async with browser_client(app) as browser:
        await browser_login(browser, manager)
        assert (await browser.get("/billing/settings")).status_code == 403
        assert (await browser.get("/reports/profit-loss")).status_code == 200
        assert "Record an expense" not in (await browser.get("/expenses")).text
    async with browser_client(app) as browser:
        await browser_login(browser, finance)
        assert (await browser.get("/billing/settings")).status_code == 200


async def test_finance_keeps_exchange_rates_and_the_report_converts_on_screen(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    acme = await company(client, admin)
    await sent_invoice(client, admin, customer_account_id=acme, issue_date="2026-02-10", subtotal=1000, tax_rate=0)
    await sent_invoice(client, admin, customer_account_id=acme, issue_date="2026-02-11", subtotal=100, tax_rate=0, currency="USD")
    finance = await tenants.add_user(admin, "finance")
    await browser_login(client, finance)
    page = await client.get("/billing/settings")
    assert 'id="exchange-rates"' in page.text and "No rates yet" in page.text
    token = csrf_of(page.text)
    htmx = {"HX-Request": "true", "HX-Target": "exchange-rates"}
    odd = await client.post(
        "/billing/exchange-rates", data={"_csrf_token": token, "currency": "usd", "rate": "0", "effective_on": "2026-01-01"}, headers=htmx
    )
    assert odd.status_code == 422 and 'id="err-rate-rate"' in odd.text and 'value="usd"' in odd.text  # kept as typed
    kept = await client.post(
        "/billing/exchange-rates",
        data={"_csrf_token": token, "currency": "usd", "rate": "3.6725", "effective_on": "2026-01-01"},
        headers=htmx,
    )
    assert kept.status_code == 200 and kept.text.lstrip().startswith('<section class="card" id="exchange-rates"')
    assert "1 USD = 3.6725 AED from 01 Jan 2026 kept." in kept.text and '<td data-label="Currency">USD</td>' in kept.text

    plain = await client.get("/reports/profit-loss?start_date=2026-01-01&end_date=2026-03-31")
    assert "documents in USD are not counted" in plain.text and "1,000.00" in plain.text
    converted = await client.get("/reports/profit-loss?start_date=2026-01-01&end_date=2026-03-31&convert=1")
    # 1,000.00 AED and 100 USD x 3.6725 = 367.25: 1,367.25 invoiced.
    assert "1,367.25" in converted.text and "1 USD = 3.6725 AED from 01 Jan 2026" in converted.text
    assert 'name="convert" value="1" checked' in converted.text and "convert=1" in converted.text  # the files convert too

    rate_id = (await client.get("/v2/billing/exchange-rates", headers=admin.auth)).json()[0]["id"]
    removed = await client.post(f"/billing/exchange-rates/{rate_id}/delete", data={"_csrf_token": token}, headers=htmx)
    assert removed.status_code == 200 and "Rate removed." in removed.text and "No rates yet" in removed.text
    manager = await tenants.add_user(admin, "manager")
    async with browser_client(client._transport.app) as browser:  # type: ignore[attr-defined]
        await browser_login(browser, manager)
        assert (await browser.get("/billing/settings")).status_code == 403
        refused = await browser.post(
            "/billing/exchange-rates", data={"_csrf_token": csrf_of((await browser.get("/")).text), "currency": "USD", "rate": "3"}
        )
        assert refused.status_code == 403
