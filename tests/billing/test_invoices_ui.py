"""The invoice screens over HTTP: the list (tabs, search, totals, overdue rows), the editor (rows, live totals, errors on
their rows), an invoice's page (payments refused and recorded, PDF), invoices from a deal; roles and tenants."""

from __future__ import annotations

import re

import httpx

from tests.billing.test_invoices_api import company, new_invoice, sent_invoice
from tests.factories import Tenants
from tests.helpers import browser_client, browser_login, csrf_of


async def test_the_list_keeps_its_tab_in_the_url_marks_overdue_and_adds_up(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    acme = await company(client, admin)
    late = await sent_invoice(client, admin, customer_account_id=acme, subtotal=100, issue_date="2025-01-01", due_date="2025-01-31")
    await sent_invoice(client, admin, customer_account_id=acme, subtotal=250.5, due_date="2999-01-01")
    await new_invoice(client, admin, customer_account_id=acme, subtotal=7, description="Retainer draft")
    await browser_login(client, admin)
    page = await client.get("/invoices")
    assert page.status_code == 200 and "<html" in page.text
    assert page.text.count('class="overdue"') == 1 and f'id="invoice-{late["id"]}" class="overdue"' in page.text
    assert "350.50" in page.text and "1 draft not counted" in page.text, "the totals of every invoice shown"
    assert "1 overdue" in page.text
    overdue = await client.get("/invoices?overdue=1", headers={"HX-Request": "true", "HX-Target": "invoice-results"})
    assert overdue.status_code == 200 and "<html" not in overdue.text and overdue.text.lstrip().startswith('<div id="invoice-results"')
    assert overdue.headers["hx-push-url"] == "/invoices?overdue=1"
    assert late["invoice_number"] in overdue.text and "Retainer draft" not in overdue.text
    assert 'aria-current="page">Overdue' in overdue.text
    drafts = await client.get("/invoices?status=draft")
    assert drafts.text.count('<tr id="invoice-') == 1
    assert (await client.get("/invoices?status=nonsense")).status_code == 200, "an odd status shows every invoice"
    searched = await client.get("/invoices?q=retainer")
    assert searched.text.count('<tr id="invoice-') == 1


async def test_the_editor_adds_rows_totals_live_and_shows_errors_on_their_row(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    acme = await company(client, admin, name="Acme")
    await browser_login(client, admin)
    page = await client.get("/invoices/new")
    assert page.status_code == 200 and 'name="line-0-description"' in page.text and "Acme" in page.text
    token = csrf_of(page.text)
    hx = {"HX-Request": "true", "x-csrf-token": token}
    row = await client.post("/invoices/line-row", data={"line-0-description": "a", "line-3-description": ""}, headers=hx)
    assert row.status_code == 200 and 'name="line-4-description"' in row.text and row.text.lstrip().startswith("<tr")
    live = await client.post(
        "/invoices/totals",
        data={
            "currency": "AED",
            "line-0-description": "Fee",
            "line-0-quantity": "2",
            "line-0-unit_price": "100.125",
            "line-0-tax_rate": "5",
        },
        headers=hx,
    )
    # 2 x 100.125 = 200.25; 5 % of it is 10.0125 → 10.01.
    assert live.status_code == 200 and "210.26" in live.text and 'id="line-amount-0" hx-swap-oob="true">200.25<' in live.text
    form = {
        "_csrf_token": token,
        "customer": f"company:{acme}",
        "line-0-description": "Valuation report",
        "line-0-quantity": "1",
        "line-0-unit_price": "-5",
        "line-0-tax_rate": "5",
        "line-1-description": "",
        "line-1-unit_price": "",
    }
    bad = await client.post("/invoices/new", data=form)
    assert bad.status_code == 422 and 'id="err-line-0-unit_price"' in bad.text and 'value="-5"' in bad.text
    assert (await client.get("/v2/invoices", headers=admin.auth)).json()["total"] == 0
    created = await client.post("/invoices/new", data={**form, "line-0-unit_price": "1,500.00", "line-0-discount_rate": "10"})
    assert created.status_code == 303
    invoice = (await client.get("/v2/invoices", headers=admin.auth)).json()["data"][0]
    assert created.headers["location"] == f"/invoices/{invoice['id']}"
    assert invoice["total_amount"] == 1417.5 and invoice["status"] == "draft"  # 1,500 less 10 % = 1,350, plus 5 % tax
    draft = await client.get(f"/invoices/{invoice['id']}")
    assert 'value="Valuation report"' in draft.text and "Save and send" in draft.text
    sent = await client.post(
        f"/invoices/{invoice['id']}",
        data={**form, "line-0-unit_price": "1500", "line-0-discount_rate": "", "_then": "send", "_csrf_token": token},
    )
    assert sent.status_code == 303
    detail = (await client.get(f"/v2/invoices/{invoice['id']}", headers=admin.auth)).json()
    assert detail["status"] == "sent" and detail["total_amount"] == 1575


async def test_recording_payments_on_the_invoice_page(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    invoice = await sent_invoice(client, admin, customer_account_id=await company(client, admin), subtotal=1000, due_date="2999-01-01")
    await browser_login(client, admin)
    page = await client.get(f"/invoices/{invoice['id']}")
    assert page.status_code == 200 and "Record a payment" in page.text and 'value="1000.00"' in page.text
    token = csrf_of(page.text)
    hx = {"HX-Request": "true", "HX-Target": "invoice"}
    over = await client.post(f"/invoices/{invoice['id']}/payments", data={"_csrf_token": token, "amount": "1000.01"}, headers=hx)
    assert over.status_code == 422 and "Only AED 1,000.00 is still owed" in over.text and 'value="1000.01"' in over.text
    part = await client.post(
        f"/invoices/{invoice['id']}/payments",
        data={"_csrf_token": token, "amount": "400", "paid_on": "2026-11-30", "payment_reference": "TT-1"},
        headers=hx,
    )
    assert part.status_code == 200 and part.text.lstrip().startswith('<div id="invoice"')
    assert "AED 600.00 still due" in part.text and "TT-1" in part.text
    rest = await client.post(f"/invoices/{invoice['id']}/payments", data={"_csrf_token": token, "amount": "600"}, headers=hx)
    assert "paid in full" in rest.text and "Record a payment" not in rest.text
    pdf = await client.get(f"/invoices/{invoice['id']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"


async def test_an_invoice_from_a_deal_is_made_out_to_its_customer(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    acme = await company(client, admin, name="Acme")
    deal = (await client.post("/v2/deals", headers=admin.auth, json={"title": "Marina villa", "value": 2500000, "company_id": acme})).json()
    await browser_login(client, admin)
    page = await client.get(f"/invoices/new?deal={deal['id']}")
    assert page.status_code == 200
    assert re.search(rf'<option value="company:{acme}"\s+selected>Acme', page.text)
    assert 'value="Marina villa"' in page.text and 'value="2500000.00"' in page.text and f'name="deal_id" value="{deal["id"]}"' in page.text
    board = await client.get(f"/pipeline/deals/{deal['id']}", headers={"HX-Request": "true"})
    assert f'href="/invoices/new?deal={deal["id"]}"' in board.text


async def test_support_and_agents_see_no_invoices_and_other_tenants_nothing(
    client: httpx.AsyncClient, tenants: Tenants, app: object
) -> None:
    admin = await tenants.create()
    invoice = await new_invoice(client, admin, customer_account_id=await company(client, admin), subtotal=10)
    for role in ("support", "agent"):
        person = await tenants.add_user(admin, role)
        async with browser_client(app) as browser:
            await browser_login(browser, person)
            home = await browser.get("/")
            assert 'href="/invoices"' not in home.text, role
            assert (await browser.get("/invoices")).status_code == 403, role
            assert (await browser.get(f"/invoices/{invoice['id']}/pdf")).status_code == 403, role
    manager = await tenants.add_user(admin, "manager")
    async with browser_client(app) as browser:
        await browser_login(browser, manager)
        shown = await browser.get(f"/invoices/{invoice['id']}")
        assert shown.status_code == 200 and "Save draft" not in shown.text and "New invoice" not in (await browser.get("/invoices")).text
    other = await tenants.create()
    async with browser_client(app) as browser:
        await browser_login(browser, other)
        assert (await browser.get(f"/invoices/{invoice['id']}")).status_code == 404
        assert (await browser.get(f"/invoices/{invoice['id']}/pdf")).status_code == 404
