"""The sales forecast through /v2 and on screen: a seasonal history written through the API, the back-test beating
the naive forecast, the weighted pipeline, currencies, roles and tenants (issue #17), the chart in a PDF."""

from __future__ import annotations

import asyncio
import io
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import jinja2
from pypdf import PdfReader

from app.billing.pdf import ROOT, html_to_pdf
from tests.factories import Account, Tenants
from tests.helpers import browser_login


def months_back(n: int) -> date:
    """The first day of the month `n` months before this one (UTC, the new workspace's zone)."""
    today = datetime.now(UTC).date()
    counted = today.year * 12 + today.month - 1 - n
    return date(counted // 12, counted % 12 + 1, 1)


def seasonal(t: int) -> Decimal:
    """A seasonal month: growth, a 12-month wave and a little irregular noise."""
    value = 400_000 + 4_000 * t + 150_000 * math.sin(2 * math.pi * t / 12) + ((t * 7919) % 13 - 6) * 6_000
    return Decimal(round(value, 2)).quantize(Decimal("0.01"))


async def won_deal(client: httpx.AsyncClient, db: asyncpg.Connection, who: Account, value: Decimal, month: date, **fields: Any) -> int:
    """A deal created and won through the API; only its closing time is moved back to `month` (the API closes now)."""
    created = await client.post("/v2/deals", headers=who.auth, json={"title": f"Won {month}", "value": str(value), **fields})
    assert created.status_code == 201, created.text
    deal_id = int(created.json()["id"])
    won = await client.patch(f"/v2/deals/{deal_id}", headers=who.auth, json={"status": "won"})
    assert won.status_code == 200, won.text
    await db.execute("UPDATE deal SET closed_at = $2 WHERE id = $1", deal_id, datetime(month.year, month.month, 15, 12, tzinfo=UTC))
    return deal_id


async def seasonal_history(client: httpx.AsyncClient, db: asyncpg.Connection, who: Account, months: int = 36) -> list[Decimal]:
    values = [seasonal(t) for t in range(months)]
    for t, value in enumerate(values):
        await won_deal(client, db, who, value, months_back(months - t))
    return values


async def test_seasonal_history_is_forecast_and_beats_the_naive_forecast(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    values = await seasonal_history(client, db, admin)
    stages = (await client.get("/v2/pipelines", headers=admin.auth)).json()
    stages = stages["data"] if isinstance(stages, dict) else stages
    viewing = next(s for s in stages[0]["stages"] if s["probability"] == 35)
    next_month = months_back(-1)
    await client.post(
        "/v2/deals",
        headers=admin.auth,
        json={
            "title": "Open",
            "value": "1000000",
            "stage_id": viewing["id"],
            "expected_close_date": next_month.replace(day=20).isoformat(),
        },
    )
    # A deal in a currency without an exchange rate is left out and named, as the P&L does.
    await client.post("/v2/deals", headers=admin.auth, json={"title": "Dollars", "value": "5000", "currency": "USD"})

    response = await client.get("/v2/forecasting-models", headers=admin.auth, params={"months": 12})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert data["method"] == "holt_winters" and data["scope"] == "team" and data["currency"] == "AED"
    assert [Decimal(str(h["revenue"])) for h in data["history"]] == values
    assert len(data["forecast"]) == 12 and data["forecast"][0]["period"] == f"{months_back(0):%Y-%m}"
    for month in data["forecast"]:
        assert month["confidence_lower"] <= month["predicted_revenue"] <= month["confidence_upper"]
        assert month["trend"] in ("increasing", "decreasing", "stable")
    assert data["forecast"][1]["weighted_pipeline"] == 350000 and data["forecast"][1]["pipeline_deals"] == 1
    assert data["other_currencies"] == ["USD"]
    # The rolling back-test beats repeating the last month on a seasonal series.
    metrics, naive = data["accuracy_metrics"], data["baseline_metrics"]
    assert metrics["points"] > 20 and naive["method"] == "naive_last_value"
    assert metrics["mae"] < naive["mae"] and metrics["rmse"] < naive["rmse"] and metrics["mape"] < naive["mape"]
    assert 0 < metrics["mape"] < 1
    assert any("back-test" in line and "better than" in line for line in data["insights"]), data["insights"]
    assert any("Seasonality" in line for line in data["insights"])

    # Bad months: the error envelope.
    for bad in ("0", "25", "x"):
        refused = await client.get("/v2/forecasting-models", headers=admin.auth, params={"months": bad})
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_short_history_falls_back_and_roles_and_tenants_are_kept_apart(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    admin = await tenants.create()
    agent = await tenants.add_user(admin, "agent")
    support = await tenants.add_user(admin, "support")
    finance = await tenants.add_user(admin, "finance")
    for n in range(8):
        await won_deal(client, db, admin, Decimal(100_000 + 10_000 * n), months_back(8 - n))
    await won_deal(client, db, agent, Decimal(77_000), months_back(2))

    team = (await client.get("/v2/forecasting-models?months=3", headers=admin.auth)).json()["data"]
    assert team["method"] == "holt" and len(team["history"]) == 8 and team["scope"] == "team"
    assert Decimal(str(team["history"][-2]["revenue"])) == Decimal(160_000 + 77_000)
    assert any("Only 8 months" in line for line in team["insights"])
    assert (await client.get("/v2/forecasting-models", headers=finance.auth)).json()["data"]["scope"] == "team"

    own = (await client.get("/v2/forecasting-models", headers=agent.auth)).json()["data"]
    assert own["scope"] == "own" and own["method"] == "mean"
    assert [(h["period"], h["revenue"]) for h in own["history"]] == [(f"{months_back(2):%Y-%m}", 77000), (f"{months_back(1):%Y-%m}", 0)]

    refused = await client.get("/v2/forecasting-models", headers=support.auth)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "INSUFFICIENT_PERMISSIONS"

    other = await tenants.create()
    theirs = (await client.get("/v2/forecasting-models", headers=other.auth)).json()["data"]
    assert theirs["history"] == [] and theirs["method"] == "none" and theirs["weighted_pipeline_total"] == 0
    assert all(m["predicted_revenue"] == 0 for m in theirs["forecast"])


async def test_forecast_screen_and_its_chart_in_a_pdf(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create()
    for n in range(6):
        await won_deal(client, db, admin, Decimal(50_000 * (n + 1)), months_back(6 - n))
    await browser_login(client, admin)
    page = await client.get("/analytics/forecast?months=6")
    assert page.status_code == 200
    assert "<svg" in page.text and "<polygon" in page.text and 'id="forecast-chart-table"' in page.text
    assert "Holt&#39;s linear trend" in page.text or "Holt's linear trend" in page.text
    fragment = await client.get("/analytics/forecast?months=3", headers={"HX-Request": "true", "HX-Target": "forecast-report"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and fragment.text.count("<tr>") == 4
    assert fragment.headers["hx-push-url"] == "/analytics/forecast?months=3"

    # The macro alone, as the dashboard's PDF will use it, renders in WeasyPrint with its figures readable.
    report = (await client.get("/v2/forecasting-models?months=3", headers=admin.auth)).json()["data"]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "templates"), autoescape=True)
    html = env.from_string(
        '{% from "forecasting/_chart.html" import forecast_chart %}<html><body>{{ forecast_chart(r) }}</body></html>'
    ).render(r=report)
    pdf = await asyncio.to_thread(html_to_pdf, html)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Forecast by month" in text and report["forecast"][0]["period"] in text

    support = await tenants.add_user(admin, "support")
    await browser_login(client, support)
    assert (await client.get("/analytics/forecast")).status_code == 403
