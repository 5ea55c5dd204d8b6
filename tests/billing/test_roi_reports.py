"""ROI reports (issue #13): the arithmetic of a cash purchase and a mortgaged one, a lead's case through /v2 with its
PDF read back, `roi_report_url` in lead payloads, roles and tenants."""

from __future__ import annotations

import io
from decimal import Decimal

import httpx
from pypdf import PdfReader

from app.billing import roi
from tests.factories import Tenants, make_lead
from tests.helpers import browser_client, browser_login, csrf_of


def test_a_cash_purchase_adds_up() -> None:
    case = roi.work_out(
        roi.RoiInputs(
            price=Decimal("1000000.00"),
            annual_rent=Decimal("60000.00"),
            service_charges=Decimal("10000.00"),
            fees_rate=Decimal("0.06"),
            vacancy_rate=Decimal(0),
            rent_growth=Decimal(0),
            appreciation_rate=Decimal(0),
            holding_years=5,
            selling_cost_rate=Decimal(0),
        )
    )
    assert case.cash_invested == Decimal("1060000.00") and case.loan == 0
    assert [y.cash_flow for y in case.years] == [Decimal("50000.00")] * 5
    assert case.gross_yield == Decimal("0.06") and case.net_yield.quantize(Decimal("0.0001")) == Decimal("0.0472")
    assert case.sale_proceeds == Decimal("1000000.00") and case.total_profit == Decimal("190000.00")
    assert case.irr is not None
    npv = sum(float(v) / (1 + float(case.irr)) ** t for t, v in enumerate(case.cash_flows))
    assert abs(npv) < 1 and Decimal("0.0366") < case.irr < Decimal("0.0367")


def test_a_mortgage_is_paid_month_by_month() -> None:
    assert roi.monthly_payment(Decimal("800000.00"), Decimal("0.045"), 25) == Decimal("4446.66")
    case = roi.work_out(
        roi.RoiInputs(price=Decimal("1000000.00"), annual_rent=Decimal("70000.00"), loan_to_value=Decimal("0.8"), holding_years=3)
    )
    first = case.years[0]
    assert case.loan == Decimal("800000.00") and case.cash_invested == Decimal("260000.00")
    assert first.interest + first.principal == Decimal("4446.66") * 12
    assert first.loan_balance == Decimal("800000.00") - first.principal
    assert case.years[-1].equity == case.years[-1].property_value - case.years[-1].loan_balance
    assert case.cash_on_cash == first.cash_flow / case.cash_invested


async def test_a_leads_roi_report_through_the_api_and_as_a_pdf(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(name="Palm Realty")
    agent = await tenants.add_user(admin, "agent")
    lead = await make_lead(client, admin, name="Ahmed Investor", budget_min=1800000, budget_max=2000000, purpose="INVESTMENT")
    assert lead["roi_report_url"].endswith(f"/v2/leads/{lead['id']}/roi-report.pdf")
    listed = (await client.get("/v2/leads", headers=admin.auth)).json()["data"][0]
    assert listed["roi_report_url"] == lead["roi_report_url"]
    case = await client.get(f"/v2/leads/{lead['id']}/roi", headers=agent.auth, params={"loan_to_value": "0.75", "holding_years": 7})
    assert case.status_code == 200, case.text
    body = case.json()
    assert (
        body["assumptions"]["price"] == 2000000
        and body["assumptions"]["annual_rent"] == 120000
        and body["assumptions"]["holding_years"] == 7
    )
    assert body["loan"] == 1500000 and len(body["years"]) == 7 and body["irr"] is not None and body["pdf_url"] == lead["roi_report_url"]
    pdf = await client.get(
        f"/v2/leads/{lead['id']}/roi-report.pdf", headers=agent.auth, params={"price": "1950000", "annual_rent": "130000"}
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (
        "Investment case for Ahmed Investor",
        "Palm Realty",
        "1,950,000.00",
        "130,000.00",
        "IRR",
        "Year by year",
        "Page 1 of 1",
    ):
        assert expected.lower() in text.lower(), expected
    refused = await client.get(f"/v2/leads/{lead['id']}/roi", headers=admin.auth, params={"loan_to_value": "0.99"})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["field"] == "loan_to_value"
    support = await tenants.add_user(admin, "support")
    assert (await client.get(f"/v2/leads/{lead['id']}/roi-report.pdf", headers=support.auth)).status_code == 403
    other = await tenants.create()
    assert (await client.get(f"/v2/leads/{lead['id']}/roi-report.pdf", headers=other.auth)).status_code == 404


async def test_the_roi_calculator_on_the_lead_page(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    lead = await make_lead(client, admin, name="Ahmed Investor", budget_max=2000000)
    await browser_login(client, admin)
    page = await client.get(f"/leads/{lead['id']}")
    assert f'hx-get="/leads/{lead["id"]}/roi"' in page.text, "the lead page loads its ROI card"
    card = await client.get(f"/leads/{lead['id']}/roi", headers={"HX-Request": "true", "HX-Target": "roi"})
    assert card.status_code == 200 and card.text.lstrip().startswith('<section class="card" id="roi"')
    assert 'name="price" value="2000000.00"' in card.text and 'id="roi-irr"' in card.text
    token = csrf_of(page.text)
    live = await client.post(
        f"/leads/{lead['id']}/roi",
        data={"_csrf_token": token, "price": "1,000,000", "annual_rent": "60000", "loan_to_value": "80", "interest_rate": "4.5"},
        headers={"HX-Request": "true", "HX-Target": "roi-figures"},
    )
    assert live.status_code == 200 and live.text.lstrip().startswith('<div id="roi-figures"') and "4,446.66" in live.text
    assert 'id="roi-pdf" hx-swap-oob="true"' in live.text and "loan_to_value=80" in live.text
    odd = await client.post(f"/leads/{lead['id']}/roi", data={"_csrf_token": token, "vacancy_rate": "lots"}, headers={"HX-Request": "true"})
    assert odd.status_code == 422 and 'id="err-roi-vacancy_rate"' in odd.text
    pdf = await client.get(f"/leads/{lead['id']}/roi/pdf?price=1000000&annual_rent=60000&loan_to_value=80")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    support = await tenants.add_user(admin, "support")
    async with browser_client(client._transport.app) as browser:  # type: ignore[attr-defined]
        await browser_login(browser, support)
        assert 'id="roi"' not in (await browser.get(f"/leads/{lead['id']}")).text
        assert (await browser.get(f"/leads/{lead['id']}/roi")).status_code == 403


async def test_a_propertys_roi_report_reads_its_price_and_the_rents_of_its_comparables(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create(name="Marina Homes")
    agent = await tenants.add_user(admin, "agent")

    async def listed(**fields: object) -> dict[str, object]:
        made = await client.post("/v2/properties", headers=admin.auth, json=fields)
        assert made.status_code == 201, made.text
        return made.json()

    flat = {"neighborhood": "Dubai Marina", "bedrooms": 2, "square_feet": 1200, "currency": "AED"}
    sale = await listed(address="12 Marina Walk", price=1800000, listing_status="for_sale", **flat)
    await listed(address="14 Marina Walk", price=96000, listing_status="for_rent", **flat)
    await listed(address="16 Marina Walk", price=104000, listing_status="rented", **flat)
    await listed(address="Far away villa", price=400000, listing_status="for_rent", neighborhood="Arabian Ranches", bedrooms=5)

    case = await client.get(f"/v2/properties/{sale['id']}/roi", headers=agent.auth, params={"holding_years": 3})
    assert case.status_code == 200, case.text
    body = case.json()
    assert body["subject"] == "property" and body["property_id"] == sale["id"] and body["title"] == "12 Marina Walk"
    assert body["assumptions"]["price"] == 1800000 and body["assumptions"]["currency"] == "AED"
    # The rent is the average of the two comparable rentals (the villa elsewhere is not one): (96,000 + 104,000) / 2.
    assert body["assumptions"]["annual_rent"] == 100000 and body["rent_basis"] == "the average rent of 2 comparable rentals"
    assert abs(body["gross_yield"] - 100000 / 1800000) < 0.0001
    assert body["pdf_url"].endswith(f"/v2/properties/{sale['id']}/roi-report.pdf") and len(body["years"]) == 3
    mine = await client.get(f"/v2/properties/{sale['id']}/roi", headers=agent.auth, params={"annual_rent": "90000"})
    assert mine.json()["assumptions"]["annual_rent"] == 90000 and mine.json()["rent_basis"] == "your figure"

    pdf = await client.get(f"/v2/properties/{sale['id']}/roi-report.pdf", headers=agent.auth, params={"loan_to_value": "0.5"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in ("Investment case of 12 Marina Walk", "Marina Homes", "1,800,000.00", "100,000.00", "comparable rentals", "IRR"):
        assert expected.lower() in text.lower(), expected

    # A rental lets for its own price; bought at its estimated value, and without one the price must be given.
    rental = await listed(address="20 Marina Walk", price=110000, estimated_value=2000000, listing_status="for_rent", **flat)
    let = (await client.get(f"/v2/properties/{rental['id']}/roi", headers=agent.auth)).json()
    assert let["assumptions"]["price"] == 2000000 and let["assumptions"]["annual_rent"] == 110000 and let["rent_basis"] == "its rent"
    bare = await listed(address="22 Marina Walk", price=99000, listing_status="for_rent")
    refused = await client.get(f"/v2/properties/{bare['id']}/roi", headers=agent.auth)
    assert refused.status_code == 422 and refused.json()["error"]["details"]["field"] == "price"
    given = await client.get(f"/v2/properties/{bare['id']}/roi", headers=agent.auth, params={"price": "1500000"})
    assert given.status_code == 200 and given.json()["assumptions"]["annual_rent"] == 99000

    support = await tenants.add_user(admin, "support")
    assert (await client.get(f"/v2/properties/{sale['id']}/roi", headers=support.auth)).status_code == 403
    other = await tenants.create()
    assert (await client.get(f"/v2/properties/{sale['id']}/roi-report.pdf", headers=other.auth)).status_code == 404


async def test_the_roi_calculator_on_the_property_page(client: httpx.AsyncClient, tenants: Tenants) -> None:
    admin = await tenants.create()
    made = await client.post("/v2/properties", headers=admin.auth, json={"address": "3 Palm Row", "price": 2500000})
    prop = made.json()
    await browser_login(client, admin)
    page = await client.get(f"/properties/{prop['id']}")
    assert f'hx-get="/properties/{prop["id"]}/roi"' in page.text, "the property page loads its ROI card"
    card = await client.get(f"/properties/{prop['id']}/roi", headers={"HX-Request": "true", "HX-Target": "roi"})
    assert card.status_code == 200 and 'name="price" value="2500000.00"' in card.text and "6 % gross yield" in card.text
    assert f'href="/properties/{prop["id"]}/roi/pdf?' in card.text
    live = await client.post(
        f"/properties/{prop['id']}/roi",
        data={"_csrf_token": csrf_of(page.text), "price": "1,000,000", "annual_rent": "60000", "loan_to_value": "80"}
        | {"interest_rate": "4.5"},
        headers={"HX-Request": "true", "HX-Target": "roi-figures"},
    )
    assert live.status_code == 200 and "4,446.66" in live.text and "your figure" in live.text
    pdf = await client.get(f"/properties/{prop['id']}/roi/pdf?price=1000000&annual_rent=60000")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    other = await tenants.create()
    async with browser_client(client._transport.app) as browser:  # type: ignore[attr-defined]
        await browser_login(browser, other)
        assert (await browser.get(f"/properties/{prop['id']}/roi")).status_code == 404
