"""Expenses and the P&L through /v2 (issue #13): receipts, a known set of invoices, payments and expenses adding up to the
cent by month, quarter and year, CSV and Excel files of it, roles and tenants."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import httpx
import openpyxl

from tests.billing.test_invoices_api import company, new_invoice, sent_invoice
from tests.factories import Account, Tenants

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def expense(client: httpx.AsyncClient, who: Account, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v2/expenses", headers=who.auth, json=fields)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_expenses_are_recorded_changed_listed_and_carry_a_receipt(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    rent = await expense(
        client, admin, expense_date="2026-01-05", category="Rent", vendor="Bay Square Offices", amount=5000, tax_amount=250
    )
    assert (rent["amount"], rent["tax_amount"], rent["total_amount"], rent["currency"]) == (5000, 250, 5250, "AED")
    await expense(client, admin, expense_date="2026-02-10", category="Software", amount="99.99", tax_amount="5.00", currency="USD")
    for body, field in (
        ({"expense_date": "2026-01-01", "category": "Rent", "amount": -1}, "amount"),
        ({"expense_date": "2026-01-01", "category": "Rent", "amount": "1.001"}, "amount"),
        ({"expense_date": "0202-01-01", "category": "Rent", "amount": 1}, "expense_date"),
        ({"expense_date": "2026-01-01", "category": " ", "amount": 1}, "category"),
        ({"expense_date": "2026-01-01", "amount": 1}, "category"),
    ):
        refused = await client.post("/v2/expenses", headers=admin.auth, json=body)
        assert refused.status_code == 422 and refused.json()["error"]["details"]["field"] == field, (body, refused.text)
    listed = (await client.get("/v2/expenses", headers=admin.auth, params={"category": "rent"})).json()
    assert [e["vendor"] for e in listed["data"]] == ["Bay Square Offices"]
    assert (await client.get("/v2/expenses", headers=admin.auth, params={"start_date": "2026-02-01"})).json()["total"] == 1
    changed = await client.patch(f"/v2/expenses/{rent['id']}", headers=admin.auth, json={"amount": "5100.50"})
    assert changed.status_code == 200 and changed.json()["total_amount"] == 5350.5
    url = f"/v2/expenses/{rent['id']}/receipt"
    assert (await client.get(url, headers=admin.auth)).status_code == 404
    bad = await client.put(url, headers=admin.auth, files={"file": ("receipt.txt", b"just text", "text/plain")})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["reason"] == "file_type"
    stored = await client.put(url, headers=admin.auth, files={"file": ("March rent.pdf", PDF, "application/pdf")})
    assert stored.status_code == 200 and stored.json()["receipt_name"] == "March rent.pdf" and stored.json()["receipt_url"].endswith(url)
    fetched = await client.get(url, headers=admin.auth)
    assert fetched.content == PDF and fetched.headers["content-type"] == "application/pdf"
    other = await tenants.create()
    assert (await client.get(url, headers=other.auth)).status_code == 404
    assert (await client.get(f"/v2/expenses/{rent['id']}", headers=other.auth)).status_code == 404
    assert (await client.delete(f"/v2/expenses/{rent['id']}", headers=other.auth)).status_code == 404
    manager = await tenants.add_user(admin, "manager")
    support = await tenants.add_user(admin, "support")
    assert (await client.get("/v2/expenses", headers=manager.auth)).status_code == 200
    assert (
        await client.post("/v2/expenses", headers=manager.auth, json={"expense_date": "2026-01-01", "category": "X", "amount": 1})
    ).status_code == 403
    assert (await client.get("/v2/expenses", headers=support.auth)).status_code == 403
    assert (await client.delete(f"/v2/expenses/{rent['id']}", headers=admin.auth)).status_code == 204
    assert (await client.get(url, headers=admin.auth)).status_code == 404


async def test_the_profit_and_loss_of_a_known_set_adds_up_to_the_cent(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    acme = await company(client, admin)
    # January: 3 x 33.33 at 5 % (99.99 + 5.00), paid 50.00 in January and the rest in February.
    jan = await sent_invoice(
        client,
        admin,
        customer_account_id=acme,
        issue_date="2026-01-15",
        lines=[{"description": "Hours", "quantity": 3, "unit_price": "33.33", "tax_rate": "0.05"}],
    )
    assert jan["total_amount"] == 104.99
    for amount, when in (("50.00", "2026-01-20T12:00:00Z"), ("54.99", "2026-02-03T12:00:00Z")):
        paid = await client.post(f"/v2/invoices/{jan['id']}/payments", headers=admin.auth, json={"amount": amount, "paid_at": when})
        assert paid.status_code == 201, paid.text
    # February: 1,000.00 less 12.5 % discount at 5 % (875.00 + 43.75), unpaid; March: a 0 % line of 1,234.56.
    await sent_invoice(
        client,
        admin,
        customer_account_id=acme,
        issue_date="2026-02-01",
        lines=[{"description": "Fee", "unit_price": 1000, "discount_rate": "0.125", "tax_rate": "0.05"}],
    )
    march = await sent_invoice(client, admin, customer_account_id=acme, issue_date="2026-03-31", subtotal="1234.56", tax_rate=0)
    # Left out: a draft, a void invoice, an invoice in dollars (named in other_currencies).
    await new_invoice(client, admin, customer_account_id=acme, issue_date="2026-02-02", subtotal=777)
    void = await sent_invoice(client, admin, customer_account_id=acme, issue_date="2026-02-03", subtotal=888)
    await client.post(f"/v2/invoices/{void['id']}/void", headers=admin.auth, json={"reason": "Duplicate"})
    await sent_invoice(client, admin, customer_account_id=acme, issue_date="2026-02-04", subtotal=999, currency="USD")
    await client.post(
        f"/v2/invoices/{march['id']}/payments", headers=admin.auth, json={"amount": "1234.56", "paid_at": "2026-04-01T08:00:00Z"}
    )  # April: outside the report
    await expense(client, admin, expense_date="2026-01-05", category="Rent", amount="5000.00", tax_amount="250.00")
    await expense(client, admin, expense_date="2026-02-10", category="Software", amount="99.99", tax_amount="5.00")
    await expense(client, admin, expense_date="2026-02-28", category="Rent", amount="5000.00", tax_amount="250.00")
    await expense(client, admin, expense_date="2026-03-15", category="Advertising", amount="1234.56")
    await expense(client, admin, expense_date="2026-03-16", category="Travel", amount="10.00", currency="EUR")

    # §7.2 as written.
    answer = await client.get(
        "/v2/financial/reports/profit-loss",
        headers=admin.auth,
        params={"start_date": "2026-01-01", "end_date": "2026-03-31", "group_by": "month"},
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["currency"] == "AED" and report["other_currencies"] == ["EUR", "USD"]
    rows = {p["period"]: p for p in report["periods"]}
    assert list(rows) == ["2026-01", "2026-02", "2026-03"]
    figures = {
        k: (p["invoiced"], p["invoiced_tax"], p["collected"], p["expenses"], p["net_profit"], p["net_cash"]) for k, p in rows.items()
    }
    assert figures == {
        "2026-01": (99.99, 5.00, 50.00, 5000.00, -4900.01, -5200.00),
        "2026-02": (875.00, 43.75, 54.99, 5099.99, -4224.99, -5300.00),
        "2026-03": (1234.56, 0, 0, 1234.56, 0, -1234.56),
    }
    assert rows["2026-02"]["expenses_by_category"] == [{"category": "Rent", "amount": 5000.00}, {"category": "Software", "amount": 99.99}]
    totals = report["totals"]
    assert (totals["invoiced"], totals["collected"], totals["expenses"], totals["net_profit"]) == (2209.55, 104.99, 11334.55, -9125.00)
    # The totals match the invoices and payments themselves, to the cent.
    issued = (
        await client.get("/v2/invoices", headers=admin.auth, params={"status": "sent,partially_paid,paid,overdue", "limit": 100})
    ).json()
    aed = [i for i in issued["data"] if i["currency"] == "AED"]
    assert sum(Decimal(str(i["subtotal"])) - Decimal(str(i["discount_amount"])) for i in aed) == Decimal("2209.55")
    paid_so_far = sum(
        Decimal(str(p["amount"])) for p in (await client.get(f"/v2/invoices/{jan['id']}/payments", headers=admin.auth)).json()
    )
    assert paid_so_far == Decimal(str(totals["collected"]))

    quarter = (
        await client.get(
            "/v2/financial/reports/profit-loss",
            headers=admin.auth,
            params={"start_date": "2026-01-01", "end_date": "2026-06-30", "group_by": "quarter"},
        )
    ).json()
    assert [(p["period"], p["invoiced"], p["collected"]) for p in quarter["periods"]] == [
        ("2026-Q1", 2209.55, 104.99),
        ("2026-Q2", 0, 1234.56),
    ]
    year = (
        await client.get(
            "/v2/financial/reports/profit-loss",
            headers=admin.auth,
            params={"start_date": "2026-01-01", "end_date": "2026-12-31", "group_by": "year"},
        )
    ).json()
    assert [p["period"] for p in year["periods"]] == ["2026"] and year["totals"]["expenses"] == 11334.55
    dollars = (
        await client.get(
            "/v2/financial/reports/profit-loss",
            headers=admin.auth,
            params={"start_date": "2026-01-01", "end_date": "2026-03-31", "currency": "USD"},
        )
    ).json()
    assert dollars["totals"]["invoiced"] == 999 and dollars["other_currencies"] == ["AED", "EUR"]

    exported = await client.get(
        "/v2/financial/reports/profit-loss/export",
        headers=admin.auth,
        params={"format": "csv", "start_date": "2026-01-01", "end_date": "2026-03-31"},
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == 'attachment; filename="profit-loss_2026-01-01_2026-03-31.csv"'
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0][:6] == ["Period", "From", "To", "Invoiced (before tax)", "Tax invoiced", "Collected"]
    assert "Expenses: Advertising" in table[0] and table[-1][0] == "Total" and table[-1][3] == "2209.55" and table[-1][-2] == "-9125.00"
    workbook = await client.get(
        "/v2/financial/reports/profit-loss/export",
        headers=admin.auth,
        params={"format": "xlsx", "start_date": "2026-01-01", "end_date": "2026-03-31"},
    )
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Period" and values[4][0] == "Total" and values[4][3] == 2209.55 and values[1][5] == 50


async def test_the_report_refuses_odd_ranges_and_is_for_finance_managers_and_admins(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    url = "/v2/financial/reports/profit-loss"
    backwards = await client.get(url, headers=admin.auth, params={"start_date": "2026-03-01", "end_date": "2026-01-01"})
    assert backwards.status_code == 422 and backwards.json()["error"]["details"]["field"] == "end_date"
    assert (await client.get(url, headers=admin.auth, params={"group_by": "week"})).status_code in (400, 422)
    assert (await client.get(url, headers=admin.auth, params={"start_date": "1900-01-01", "end_date": "2999-12-31"})).status_code == 422
    default = (await client.get(url, headers=admin.auth)).json()
    assert default["start_date"].endswith("-01-01") and default["group_by"] == "month"
    for role, status in (("finance", 200), ("manager", 200), ("support", 403), ("agent", 403)):
        person = await tenants.add_user(admin, role)
        assert (await client.get(url, headers=person.auth)).status_code == status, role


async def test_a_converted_report_counts_other_currencies_at_the_rate_of_each_documents_day(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    admin = await tenants.create()
    finance = await tenants.add_user(admin, "finance")
    acme = await company(client, admin)
    await sent_invoice(client, admin, customer_account_id=acme, issue_date="2026-02-01", subtotal=100, tax_rate=0)
    dollars = await sent_invoice(client, admin, customer_account_id=acme, issue_date="2026-02-04", subtotal=999, tax_rate=0, currency="USD")
    paid = await client.post(
        f"/v2/invoices/{dollars['id']}/payments", headers=admin.auth, json={"amount": 500, "paid_at": "2026-02-15T09:00:00Z"}
    )
    assert paid.status_code == 201, paid.text
    await expense(client, admin, expense_date="2026-03-16", category="Travel", amount="10.00", currency="EUR")
    await expense(client, admin, expense_date="2026-03-20", category="Travel", amount="20.00", currency="GBP")  # no rate

    rates = "/v2/billing/exchange-rates"
    for body, status in (
        ({"currency": "USD", "rate": "3.6725", "effective_on": "2026-01-01"}, 201),
        ({"currency": "USD", "rate": "3.6", "effective_on": "2026-02-10"}, 201),
        ({"currency": "USD", "rate": "3.67", "effective_on": "2026-02-10"}, 200),  # the same day: replaced
        ({"currency": "EUR", "rate": "4.01235", "effective_on": "2026-03-01"}, 201),
    ):
        kept = await client.post(rates, headers=finance.auth, json=body)
        assert kept.status_code == status, kept.text
        assert kept.json()["rate"] == float(str(body["rate"])), "an exact JSON number, as every amount"
    for body, field in (
        ({"currency": "AED", "rate": "1", "effective_on": "2026-01-01"}, "currency"),
        ({"currency": "USD", "rate": "0", "effective_on": "2026-01-01"}, "rate"),
        ({"currency": "USD", "rate": "1.123456789", "effective_on": "2026-01-01"}, "rate"),
        ({"currency": "usd", "rate": "1", "effective_on": "2026-01-01"}, "currency"),
    ):
        refused = await client.post(rates, headers=finance.auth, json=body)
        assert refused.status_code == 422 and refused.json()["error"]["details"]["field"] == field, refused.text
    listed = (await client.get(rates, headers=admin.auth)).json()
    assert [(r["currency"], r["rate"], r["effective_on"], r["base_currency"]) for r in listed] == [
        ("EUR", 4.01235, "2026-03-01", "AED"),
        ("USD", 3.67, "2026-02-10", "AED"),
        ("USD", 3.6725, "2026-01-01", "AED"),
    ]

    params = {"start_date": "2026-01-01", "end_date": "2026-03-31", "group_by": "month"}
    plain = (await client.get("/v2/financial/reports/profit-loss", headers=admin.auth, params=params)).json()
    assert plain["converted"] is False and plain["other_currencies"] == ["EUR", "GBP", "USD"] and plain["totals"]["invoiced"] == 100
    answer = await client.get("/v2/financial/reports/profit-loss", headers=admin.auth, params={**params, "convert": "true"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["converted"] is True and report["other_currencies"] == ["GBP"]
    rows = {p["period"]: p for p in report["periods"]}
    # 999 USD on 4 February at the January rate: 999 x 3.6725 = 3,668.8275 → 3,668.83; the payment of 15 February at
    # the rate of 10 February: 500 x 3.67 = 1,835.00; 10 EUR x 4.01235 = 40.1235 → 40.12; the pounds have no rate.
    assert rows["2026-02"]["invoiced"] == 3768.83 and rows["2026-02"]["collected"] == 1835.00
    assert rows["2026-03"]["expenses_by_category"] == [{"category": "Travel", "amount": 40.12}]
    assert report["totals"]["net_profit"] == 3728.71
    assert report["rates_used"] == [
        {"currency": "EUR", "rate": 4.01235, "effective_on": "2026-03-01"},
        {"currency": "USD", "rate": 3.6725, "effective_on": "2026-01-01"},
        {"currency": "USD", "rate": 3.67, "effective_on": "2026-02-10"},
    ]
    exported = await client.get(
        "/v2/financial/reports/profit-loss/export", headers=admin.auth, params={**params, "convert": "true", "format": "csv"}
    )
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[-1][0] == "Total" and table[-1][3] == "3768.83"
    wrong = await client.get(
        "/v2/financial/reports/profit-loss", headers=admin.auth, params={**params, "convert": "true", "currency": "USD"}
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["details"]["reason"] == "base_currency"

    manager = await tenants.add_user(admin, "manager")
    assert (await client.get(rates, headers=manager.auth)).status_code == 200
    body = {"currency": "USD", "rate": "3.7", "effective_on": "2026-04-01"}
    assert (await client.post(rates, headers=manager.auth, json=body)).status_code == 403
    for role in ("agent", "support"):
        someone = await tenants.add_user(admin, role)
        assert (await client.get(rates, headers=someone.auth)).status_code == 403
    other = await tenants.create()
    assert (await client.delete(f"{rates}/{listed[0]['id']}", headers=other.auth)).status_code == 404
    assert (await client.get(rates, headers=other.auth)).json() == []
    assert (await client.delete(f"{rates}/{listed[0]['id']}", headers=finance.auth)).status_code == 204
    assert [r["currency"] for r in (await client.get(rates, headers=admin.auth)).json()] == ["USD", "USD"]
