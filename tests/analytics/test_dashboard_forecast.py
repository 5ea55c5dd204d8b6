"""The analytics dashboard's revenue forecast: a card loaded after the page (app.forecasting's chart macro), the same
chart in the dashboard's PDF, for the people who may see the forecast, each tenant its own."""

from __future__ import annotations

import io
from decimal import Decimal

import asyncpg
import httpx
from pypdf import PdfReader

from tests.factories import Tenants
from tests.forecasting.test_forecast import months_back, won_deal
from tests.helpers import browser_client, browser_login


async def test_the_dashboard_shows_the_forecast_card_and_prints_it(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    for n, value in enumerate((Decimal("41000"), Decimal("43000"), Decimal("47000"), Decimal("45000"), Decimal("52000"), Decimal("50000"))):
        await won_deal(client, db, admin, value, months_back(6 - n))
    await browser_login(client, admin)

    page = await client.get("/analytics")
    assert page.status_code == 200 and 'hx-get="/analytics/forecast-card"' in page.text  # the page does not wait for the fit
    assert page.text.count('id="forecast"') == 1  # one card (its block used to be drawn where defined and again)
    report = await client.get("/analytics", params={"period": "7d"}, headers={"HX-Request": "true", "HX-Target": "analytics-report"})
    assert report.status_code == 200 and 'id="forecast"' not in report.text  # a new range leaves the card alone
    card = await client.get("/analytics/forecast-card", headers={"HX-Request": "true"})
    assert card.status_code == 200 and "<html" not in card.text, card.text[:200]
    assert 'id="forecast"' in card.text and "hx-get" not in card.text and "Won revenue per month and its forecast" in card.text
    assert "52,000" in card.text  # the last month's won revenue, in the chart's own text alternative
    assert 'href="/analytics/segments"' in card.text

    pdf = await client.get("/analytics/export.pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).lower()
    assert pdf.status_code == 200 and "revenue forecast" in text and "confidence band" in text and "52,000" in text, text[-800:]

    async with browser_client(client._transport.app) as other:  # type: ignore[attr-defined]
        stranger = await tenants.create()  # another workspace: its own (empty) history, none of the first's
        await browser_login(other, stranger)
        theirs = await other.get("/analytics/forecast-card", headers={"HX-Request": "true"})
        assert theirs.status_code == 200 and "52,000" not in theirs.text
        agent = await tenants.add_user(admin, "agent")  # an agent: their own deals only (they won none)
        await browser_login(other, agent)
        own = await other.get("/analytics/forecast-card", headers={"HX-Request": "true"})
        assert own.status_code == 200 and "52,000" not in own.text
        support = await tenants.add_user(admin, "support")
        await browser_login(other, support)
        assert (await other.get("/analytics/forecast-card")).status_code == 403
