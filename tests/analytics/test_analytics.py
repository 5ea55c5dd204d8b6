"""Analytics (issue #17) on a known dataset whose figures are worked out by hand below: the funnel from the leads'
recorded history, the agents' conversion and score, revenue equal to the P&L's, attribution by source and campaign;
an agent sees only their own figures, support none, another tenant nothing; the screen, its PDF and Excel file."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import openpyxl
from pypdf import PdfReader

from app.analytics import service as analytics
from app.db import TenantScope, tenant_transaction
from tests.billing.test_invoices_api import company, new_invoice, sent_invoice
from tests.factories import Account, Tenants, make_lead
from tests.helpers import browser_client, browser_login

TODAY = datetime.now(UTC).date()
# Yesterday to tomorrow: the set made now, and its history set ten minutes ahead, are inside even around midnight UTC.
RANGE = {"start_date": (TODAY - timedelta(days=1)).isoformat(), "end_date": (TODAY + timedelta(days=1)).isoformat()}


async def status(client: httpx.AsyncClient, who: Account, lead: dict[str, Any], *steps: str) -> None:
    for step in steps:
        moved = await client.patch(f"/v2/leads/{lead['id']}", headers=who.auth, json={"status": step})
        assert moved.status_code == 200, moved.text


async def deal(client: httpx.AsyncClient, who: Account, value: str, owner: int, lead: Any = None, won: bool = False) -> int:
    body: dict[str, Any] = {"title": f"Deal {value}", "value": value, "owner_id": owner}
    if lead is not None:
        body["lead_id"] = lead["id"]
    made = await client.post("/v2/deals", headers=who.auth, json=body)
    assert made.status_code == 201, made.text
    if won:
        closed = await client.patch(f"/v2/deals/{made.json()['id']}", headers=who.auth, json={"status": "won"})
        assert closed.status_code == 200, closed.text
    return int(made.json()["id"])


async def known_set(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> dict[str, Any]:
    """Eight leads today, two agents, three deals, invoices; the figures of each test are worked out from it."""
    admin = await tenants.create()
    one = await tenants.add_user(admin, "agent")
    two = await tenants.add_user(admin, "agent")
    summer = await client.post("/v2/campaigns", headers=admin.auth, json={"name": "Summer villas", "source": "website"})
    assert summer.status_code == 201, summer.text
    lead = {}
    lead[1] = await make_lead(client, admin, name="L1", phone="+971500000001", agent_id=one.user_id, source="website",
                              campaign_id=summer.json()["id"])  # fmt: skip
    lead[2] = await make_lead(client, admin, name="L2", phone="+971500000002", agent_id=one.user_id, source="website",
                              custom_fields={"utm_campaign": "spring_promo"})  # fmt: skip
    lead[3] = await make_lead(client, admin, name="L3", email="l3@example.com", agent_id=one.user_id, source="portal")
    lead[4] = await make_lead(client, admin, name="L4", phone="+971500000004", agent_id=one.user_id, source="portal")
    lead[5] = await make_lead(client, admin, name="L5", phone="+971500000005", agent_id=one.user_id, source="portal")
    lead[6] = await make_lead(client, admin, name="L6", phone="+971500000006", agent_id=two.user_id, source="portal")
    lead[7] = await make_lead(client, admin, name="L7", email="l7@example.com", agent_id=two.user_id, source="portal")
    lead[8] = await make_lead(client, admin, name="L8", phone="+971500000008", source="portal")
    await status(client, admin, lead[1], "QUALIFIED", "VIEWING_SCHEDULED", "WON")
    await status(client, admin, lead[2], "QUALIFIED", "LOST")  # qualified once: still counts as qualified
    await status(client, admin, lead[3], "QUALIFIED")  # no phone: stops before phone_captured
    await status(client, admin, lead[5], "CONTACTED")
    await status(client, admin, lead[6], "QUALIFIED", "VIEWING_SCHEDULED")
    # Agent one's leads that moved were first answered ten minutes after they came in (the history set back).
    await db.execute(
        "UPDATE lead_milestone SET responded_at = started_at + interval '600 seconds' WHERE lead_id = ANY($1::bigint[])",
        [lead[n]["id"] for n in (1, 2, 3, 5)],
    )
    d1 = await deal(client, admin, "1000000.00", one.user_id, lead[1], won=True)
    await deal(client, admin, "500000.00", two.user_id, lead[6])  # open: the pipeline
    d3 = await deal(client, admin, "250000.50", one.user_id, won=True)  # no lead
    acme = await company(client, admin)
    first_invoice = await sent_invoice(client, admin, customer_account_id=acme, deal_id=d1, subtotal="1000.00", tax_rate="0.05")
    await sent_invoice(client, admin, customer_account_id=acme, deal_id=d3, subtotal="200.00")
    await sent_invoice(client, admin, customer_account_id=acme, subtotal="300.00")
    await new_invoice(client, admin, customer_account_id=acme, deal_id=d1, subtotal="999.00")  # a draft: no revenue
    return {"admin": admin, "one": one, "two": two, "lead": lead, "campaign": summer.json()["id"], "invoice": first_invoice["id"]}


async def test_a_credit_note_comes_off_the_revenue_of_the_deal_it_corrects(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    """A credit note counts against the deal of the invoice it corrects, also one without a deal of its own (as notes
    made before they copied it are): the revenue from leads and the agent's revenue."""
    s = await known_set(client, tenants, db)
    admin, one = s["admin"], s["one"]
    note = await client.post(
        f"/v2/invoices/{s['invoice']}/credit-notes",  # deal one's invoice: 1,000.00 before tax, from L1, agent one
        headers=admin.auth,
        json={"reason": "Discount agreed", "lines": [{"description": "Discount", "unit_price": 100, "tax_rate": 0}]},
    )
    assert note.status_code == 201, note.text
    await db.execute("UPDATE invoice SET deal_id = NULL WHERE id = $1", note.json()["id"])
    team = (await client.get("/v2/analytics/dashboard", headers=admin.auth, params=RANGE)).json()["revenue"]
    assert (team["invoiced"], team["attributed"]) == (1400.00, 900.00)
    theirs = (await client.get("/v2/analytics/dashboard", headers=one.auth, params=RANGE)).json()["revenue"]
    assert (theirs["invoiced"], theirs["attributed"]) == (1100.00, 900.00)  # 1,000.00 - 100.00 + deal three's 200.00


async def test_the_figures_of_a_known_set_match_hand_computation(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    s = await known_set(client, tenants, db)
    admin, one, two = s["admin"], s["one"], s["two"]

    # Funnel: started 8; qualified L1 L2 L3 L6 = 4; with a phone L1 L2 L6 = 3; viewing L1 L6 = 2; won L1 = 1.
    answer = await client.get("/v2/analytics/funnel", headers=admin.auth, params={"period": "7d"})
    assert answer.status_code == 200, answer.text
    funnel = answer.json()
    assert funnel["period"] == "7d" and funnel["end_date"].endswith("T23:59:59Z") and funnel["start_date"].endswith("T00:00:00Z")
    steps = [(f["stage"], f["count"], f["percentage"], f["drop_off_from_previous"]) for f in funnel["funnel"]]
    assert steps == [
        ("started", 8, 100, 0),
        ("qualified", 4, 50, 50),  # 4 of 8 lost
        ("phone_captured", 3, 37.5, 25),  # 1 of 4
        ("viewing_scheduled", 2, 25, 33.3),  # 1 of 3
        ("closed_won", 1, 12.5, 50),  # 1 of 2
    ]
    assert funnel["conversion_rate"] == 12.5
    assert 0 <= funnel["average_qualification_time_seconds"] <= 5  # qualified within the test's seconds
    custom = await client.get("/v2/analytics/funnel", headers=admin.auth, params=RANGE)
    assert custom.json()["period"] == "custom" and custom.json()["funnel"][0]["count"] == 8
    # Agent one sees their five: qualified L1 L2 L3, phone L1 L2, viewing L1, won L1.
    mine = (await client.get("/v2/analytics/funnel", headers=one.auth, params=RANGE)).json()
    assert [f["count"] for f in mine["funnel"]] == [5, 3, 2, 1, 1]

    # Agents: one has 5 leads, 1 won (20 %), deals won 1,000,000.00 + 250,000.50; answered in 600 s.
    # Score: 50 x min(20/25, 1) + 30 x 1 (the top value) + 20 x (1 - 600/86400) = 40 + 30 + 19.86 = 90.
    # Two: 2 leads, none won, no deal; L6 answered at once: 20 x 1 = 20.
    agents = (await client.get("/v2/analytics/agents", headers=admin.auth, params={**RANGE, "sort": "-closed_deals"})).json()
    assert agents["currency"] == "AED" and "50 x min(conversion rate" in agents["score_formula"]
    rows = {r["agent_id"]: r for r in agents["data"]}
    assert [r["agent_id"] for r in agents["data"]][:2] == [one.user_id, two.user_id]
    first = rows[one.user_id]
    assert (first["closed_deals"], first["total_value_aed"], first["average_deal_value_aed"]) == (2, 1250000.5, 625000.25)
    assert (first["leads_assigned"], first["won_leads"], first["conversion_rate"]) == (5, 1, 20.0)
    assert (first["average_response_time_seconds"], first["performance_score"]) == (600, 90)
    second = rows[two.user_id]
    assert (second["closed_deals"], second["leads_assigned"], second["conversion_rate"], second["performance_score"]) == (0, 2, 0.0, 20)
    by_score = (await client.get("/v2/analytics/agents", headers=admin.auth, params={**RANGE, "sort": "performance_score"})).json()["data"]
    assert [r["performance_score"] for r in by_score] == sorted(r["performance_score"] for r in by_score)
    only_mine = (await client.get("/v2/analytics/agents", headers=two.auth, params=RANGE)).json()["data"]
    assert [r["agent_id"] for r in only_mine] == [two.user_id] and only_mine[0]["performance_score"] == 20

    # Revenue is the P&L's: 1,000.00 + 200.00 + 300.00 invoiced before tax (the draft left out); from leads 1,000.00.
    pnl = (await client.get("/v2/financial/reports/profit-loss", headers=admin.auth, params=RANGE)).json()
    assert pnl["totals"]["invoiced"] == 1500.00
    dashboard = (await client.get("/v2/analytics/dashboard", headers=admin.auth, params=RANGE)).json()
    assert dashboard["leads"] == {"total": 8, "qualified": 4, "conversion_rate": 0.5}
    assert dashboard["revenue"] == {"attributed": 1000.00, "pipeline": 500000.00, "invoiced": pnl["totals"]["invoiced"], "currency": "AED"}
    only_leads = (await client.get("/v2/analytics/dashboard", headers=admin.auth, params={**RANGE, "metrics": "leads"})).json()
    assert "revenue" not in only_leads and only_leads["leads"]["total"] == 8
    theirs = (await client.get("/v2/analytics/dashboard", headers=one.auth, params=RANGE)).json()
    assert theirs["leads"]["total"] == 5 and theirs["revenue"]["invoiced"] == 1200.00 and theirs["revenue"]["pipeline"] == 0

    kpis = (await client.get("/v2/business-intelligence/kpis", headers=admin.auth, params=RANGE)).json()
    k = {x["key"]: x for x in kpis["kpis"]}
    assert (k["new_leads"]["value"], k["won_deals"]["value"], k["won_value"]["value"], k["revenue"]["value"]) == (8, 2, 1250000.5, 1500)
    assert (k["qualification_rate"]["value"], k["lead_conversion_rate"]["value"], k["pipeline_value"]["value"]) == (50, 12.5, 500000)
    assert k["new_leads"]["previous_value"] == 0 and k["new_leads"]["change_percent"] is None

    # Attribution: website has L1 (won, Summer villas) and L2; deals without a lead and invoices without a deal: (no lead).
    report = (await client.get("/v2/attribution-reports", headers=admin.auth, params=RANGE)).json()
    sources = {r["key"]: r for r in report["by_source"]}
    web = sources["website"]
    assert (web["leads"], web["won_leads"], web["won_deals"], web["won_value"], web["revenue"], web["conversion_rate"]) == (
        2, 1, 1, 1000000, 1000, 50.0,
    )  # fmt: skip
    assert (sources["portal"]["leads"], sources["portal"]["won_deals"]) == (6, 0)
    assert (sources["(no lead)"]["won_value"], sources["(no lead)"]["revenue"]) == (250000.5, 500)
    campaigns = {r["key"]: r for r in report["by_campaign"]}
    assert campaigns["Summer villas"]["campaign_id"] == s["campaign"] and campaigns["Summer villas"]["revenue"] == 1000
    assert campaigns["spring_promo"]["leads"] == 1 and campaigns["(none)"]["leads"] == 6
    assert (report["totals"]["leads"], report["totals"]["revenue"], report["totals"]["won_value"]) == (8, 1500, 1250000.5)


AS_OF_END = """
SELECT count(*) AS started,
       count(*) FILTER (WHERE qualified_at < $3) AS qualified,
       count(*) FILTER (WHERE qualified_at < $3 AND phone_at < $3) AS phone_captured,
       count(*) FILTER (WHERE qualified_at < $3 AND phone_at < $3 AND viewing_at < $3) AS viewing_scheduled,
       count(*) FILTER (WHERE qualified_at < $3 AND phone_at < $3 AND viewing_at < $3 AND won_at < $3) AS closed_won,
       count(*) FILTER (WHERE won_at < $3) AS won,
       avg(extract(epoch FROM qualified_at - started_at)) FILTER (WHERE qualified_at < $3) AS qualification_seconds,
       avg(extract(epoch FROM responded_at - started_at)) FILTER (WHERE responded_at < $3) AS response_seconds
  FROM lead_milestone m
 WHERE m.tenant_id = $1 AND m.started_at >= $2 AND m.started_at < $3 AND m.live AND ($4::bigint IS NULL OR m.agent_id = $4)"""


async def test_the_days_sums_give_what_the_milestones_give(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    """lead_day, kept by triggers, gives the funnel the milestones give, for the team and each agent: after creation
    and status changes, a reassignment, a deletion, a restore and a phone added; and for a period that has ended,
    lead_day less the steps its leads took after its end gives what the milestones say of it at its end."""
    s = await known_set(client, tenants, db)
    admin, one, two, lead = s["admin"], s["one"], s["two"], s["lead"]
    moved = await client.patch(f"/v2/leads/{lead[4]['id']}", headers=admin.auth, json={"agent_id": two.user_id})
    assert moved.status_code == 200, moved.text
    assert (await client.delete(f"/v2/leads/{lead[7]['id']}", headers=admin.auth)).status_code == 204
    assert (await client.delete(f"/v2/leads/{lead[5]['id']}", headers=admin.auth)).status_code == 204
    assert (await client.post(f"/v2/leads/{lead[5]['id']}/restore", headers=admin.auth)).status_code == 200
    phoned = await client.patch(f"/v2/leads/{lead[3]['id']}", headers=admin.auth, json={"phone": "+971500000003"})
    assert phoned.status_code == 200, phoned.text
    await status(client, admin, lead[4], "QUALIFIED", "VIEWING_SCHEDULED", "NEGOTIATING")

    scope = TenantScope(tenant_id=admin.tenant_id, user_id=admin.user_id, role="admin", actor="test")

    def plain(row: Any) -> dict[str, Any]:
        return {k: None if v is None else Decimal(v).quantize(Decimal("0.001")) for k, v in dict(row).items()}

    async def compare(first: datetime, last: datetime) -> dict[str, Any]:
        rng = analytics.resolve_range(None, first.date(), last.date(), allowed=(), default="")
        async with tenant_transaction(admin.tenant_id):
            for agent in (None, one.user_id, two.user_id):
                kept = await analytics._cohort(scope, rng, agent)
                assert plain(kept) == plain(await db.fetchrow(AS_OF_END, admin.tenant_id, rng.start, rng.end, agent)), agent
            return plain(await analytics._cohort(scope, rng, None))

    now = datetime.now(UTC)
    team = await compare(now - timedelta(days=1), now + timedelta(days=1))
    # 7 live leads (L7 deleted); qualified L1 L2 L3 L4 L6; with a phone now L1 L2 L3 L4 L6; viewing L1 L4 L6; won L1.
    assert [team[k] for k in ("started", "qualified", "phone_captured", "viewing_scheduled", "closed_won", "won")] == [7, 5, 5, 3, 1, 1]
    assert await db.fetchval("SELECT sum(started) FROM lead_day WHERE tenant_id = $1 AND agent_id = $2", admin.tenant_id, two.user_id) == 2

    # The leads came in ten days ago; L1 was qualified, phoned and shown a property nine days ago and won today, L6
    # answered, phoned and qualified nine days ago, L4 answered nine days ago: a period that ended five days ago had seen those.
    ids = [lead[n]["id"] for n in range(1, 9)]
    await db.execute("UPDATE lead_milestone SET started_at = started_at - interval '10 days' WHERE lead_id = ANY($1::bigint[])", ids)
    back = "interval '9 days'"
    await db.execute(
        f"""UPDATE lead_milestone SET responded_at = responded_at - {back}, qualified_at = qualified_at - {back},
                   phone_at = phone_at - {back}, viewing_at = viewing_at - {back} WHERE lead_id = $1""",
        lead[1]["id"],
    )
    await db.execute(
        f"""UPDATE lead_milestone SET responded_at = responded_at - {back}, qualified_at = qualified_at - {back},
                   phone_at = phone_at - {back} WHERE lead_id = $1""",
        lead[6]["id"],
    )
    await db.execute(f"UPDATE lead_milestone SET responded_at = responded_at - {back} WHERE lead_id = $1", lead[4]["id"])
    ended = await compare(now - timedelta(days=12), now - timedelta(days=6))
    assert [ended[k] for k in ("started", "qualified", "phone_captured", "viewing_scheduled", "closed_won", "won")] == [7, 2, 2, 1, 0, 0]
    assert ended["qualification_seconds"] is not None and ended["response_seconds"] is not None
    assert (await compare(now - timedelta(days=12), now + timedelta(days=1)))["qualified"] == 5  # as they stand now

    async with db.transaction():  # the late leads' index serves the query (its condition is the service's LATE)
        await db.execute("SET LOCAL enable_seqscan = off")
        plan = await db.fetch(f"EXPLAIN SELECT count(*) FROM lead_milestone m WHERE m.tenant_id = $1 AND {analytics.LATE}", admin.tenant_id)
        assert "lead_milestone_late" in " ".join(r[0] for r in plan)
    period = {"start_date": (now - timedelta(days=12)).date().isoformat(), "end_date": (now - timedelta(days=6)).date().isoformat()}
    board = (await client.get("/v2/analytics/agents", headers=admin.auth, params=period)).json()["data"]
    assert {r["agent_id"]: (r["leads_assigned"], r["won_leads"]) for r in board if r["leads_assigned"]} == {
        one.user_id: (4, 0),  # L1 L2 L3 L5: L1's win came after the period's end
        two.user_id: (2, 0),  # L4 L6
    }
    sources = (await client.get("/v2/attribution-reports", headers=admin.auth, params=period)).json()["by_source"]
    assert {r["key"]: r["leads"] for r in sources if r["leads"]} == {"website": 2, "portal": 5}

    # The milestones keep the leads' utm_campaign, which attribution by campaign counts the period's leads by.
    for n, fields in ((3, {"utm_campaign": "autumn"}), (2, {"utm_campaign": ""}), (6, {"utm_campaign": "autumn", "budget": "high"})):
        tagged = await client.patch(f"/v2/leads/{lead[n]['id']}", headers=admin.auth, json={"custom_fields": fields})
        assert tagged.status_code == 200, tagged.text
    kept = await db.fetch(
        "SELECT m.utm_campaign, left(nullif(l.custom_fields ->> 'utm_campaign', ''), 200) AS utm FROM lead_milestone m"
        " JOIN lead l ON l.id = m.lead_id WHERE m.tenant_id = $1",
        admin.tenant_id,
    )
    assert len(kept) == 8 and all(r["utm_campaign"] == r["utm"] for r in kept)
    since = {"start_date": (now - timedelta(days=12)).date().isoformat(), "end_date": RANGE["end_date"]}
    campaigns = (await client.get("/v2/attribution-reports", headers=admin.auth, params=since)).json()["by_campaign"]
    assert {r["key"]: r["leads"] for r in campaigns if r["leads"]} == {"Summer villas": 1, "autumn": 2, "(none)": 4}


async def test_the_open_pipeline_rows_follow_every_deal_change(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    """deal_open, kept by triggers, holds what the open deals add up to through moves, new values, currencies and
    owners, a close, a reopening and a deletion; the dashboard's pipeline and the board's stage totals read it."""
    s = await known_set(client, tenants, db)
    admin, one, two = s["admin"], s["one"], s["two"]
    stages = (await client.get("/v2/pipelines", headers=admin.auth)).json()[0]["stages"]
    a = await deal(client, admin, "100.00", one.user_id)
    b = await deal(client, admin, "200.00", two.user_id)
    c = await deal(client, admin, "300.00", one.user_id)
    for deal_id, change in (
        (a, {"stage_id": stages[2]["id"], "value": "150.50"}),
        (b, {"owner_id": one.user_id, "currency": "USD"}),
        (b, {"owner_id": None}),
        (c, {"status": "lost", "lost_reason": "Price"}),
        (c, {"status": "open"}),
        (a, {"status": "won"}),
    ):
        changed = await client.patch(f"/v2/deals/{deal_id}", headers=admin.auth, json=change)
        assert changed.status_code == 200, changed.text
    assert (await client.delete(f"/v2/deals/{c}", headers=admin.auth)).status_code == 204

    key = "stage_id, coalesce(owner_id, 0), currency"
    deals = await db.fetch(
        f"SELECT {key}, count(*), sum(value) FROM deal WHERE tenant_id = $1 AND status = 'open' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        admin.tenant_id,
    )
    kept = await db.fetch(
        "SELECT stage_id, owner_id, currency, deals, value FROM deal_open WHERE tenant_id = $1 AND deals <> 0 ORDER BY 1, 2, 3",
        admin.tenant_id,
    )
    assert [tuple(r) for r in kept] == [tuple(r) for r in deals]
    assert len(deals) == 2  # the known set's open 500,000 (agent two, AED) and b (nobody's, USD)
    dashboard = (await client.get("/v2/analytics/dashboard", headers=admin.auth, params={"period": "today"})).json()
    assert dashboard["revenue"]["pipeline"] == 500000  # USD left out of the AED workspace's pipeline
    board = (await client.get("/v2/pipelines", headers=admin.auth)).json()[0]["stages"]
    assert sum(st["open_deals"] for st in board) == 2 and sum(float(st["open_value"]) for st in board) == 500200


ATTRIBUTED = """
SELECT i.id, d.id AS deal, d.owner_id, d.lead_id, l.source, l.campaign_id, left(nullif(l.custom_fields ->> 'utm_campaign', ''), 200) AS utm
  FROM invoice i
  LEFT JOIN invoice o ON o.tenant_id = i.tenant_id AND o.id = i.credit_note_for
  LEFT JOIN deal d ON d.tenant_id = i.tenant_id AND d.id = coalesce(i.deal_id, o.deal_id)
  LEFT JOIN lead l ON l.tenant_id = d.tenant_id AND l.id = d.lead_id
 WHERE i.tenant_id = $1 ORDER BY i.id"""
KEPT = """
SELECT id, revenue_deal_id, revenue_owner_id, revenue_lead_id, revenue_source, revenue_campaign_id, revenue_utm_campaign
  FROM invoice WHERE tenant_id = $1 ORDER BY id"""
DEALS_KEPT = """
SELECT d.id, (d.lead_source, d.lead_campaign_id, d.lead_utm_campaign)
              IS NOT DISTINCT FROM (l.source, l.campaign_id, left(nullif(l.custom_fields ->> 'utm_campaign', ''), 200)) AS same
  FROM deal d LEFT JOIN lead l ON l.id = d.lead_id WHERE d.tenant_id = $1"""


async def test_whom_revenue_counts_for_follows_every_change(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    """An invoice's `revenue_*` and a deal's `lead_source`, kept by triggers, say what joining invoice, corrected
    invoice, deal and lead says, through a credit note, a draft moved to another deal, a deal's new owner and lead, a
    lead's new source, and a deal and a lead deleted outright; the figures read them."""
    s = await known_set(client, tenants, db)
    admin, two, lead = s["admin"], s["two"], s["lead"]
    tenant = admin.tenant_id

    async def same() -> list[asyncpg.Record]:
        kept = await db.fetch(KEPT, tenant)
        assert [tuple(r) for r in kept] == [tuple(r) for r in await db.fetch(ATTRIBUTED, tenant)]
        assert all(r["same"] for r in await db.fetch(DEALS_KEPT, tenant))
        return kept

    note = await client.post(
        f"/v2/invoices/{s['invoice']}/credit-notes",
        headers=admin.auth,
        json={"reason": "Discount agreed", "lines": [{"description": "Discount", "unit_price": 100, "tax_rate": 0}]},
    )
    assert note.status_code == 201, note.text
    await db.execute("UPDATE invoice SET deal_id = NULL WHERE id = $1", note.json()["id"])  # a note without its own deal
    first = await same()
    assert {r["id"]: r["revenue_source"] for r in first}[note.json()["id"]] == "website"  # L1's, through its invoice

    d1 = next(r["revenue_deal_id"] for r in first if r["id"] == s["invoice"])
    d4 = await deal(client, admin, "10.00", two.user_id, lead[7])
    draft = next(r["id"] for r in first if r["revenue_deal_id"] == d1 and r["id"] not in (s["invoice"], note.json()["id"]))
    moved = await client.patch(f"/v2/invoices/{draft}", headers=admin.auth, json={"deal_id": d4})
    assert moved.status_code == 200, moved.text
    assert {r["id"]: r for r in await same()}[draft]["revenue_source"] == "portal"  # L7's
    owner = await client.patch(f"/v2/deals/{d1}", headers=admin.auth, json={"owner_id": two.user_id})
    assert owner.status_code == 200, owner.text
    assert {r["id"]: r for r in await same()}[note.json()["id"]]["revenue_owner_id"] == two.user_id
    source = await client.patch(f"/v2/leads/{lead[1]['id']}", headers=admin.auth, json={"source": "referral"})
    assert source.status_code == 200, source.text
    assert {r["id"]: r for r in await same()}[note.json()["id"]]["revenue_source"] == "referral"
    long = "winter-" * 50  # 350 characters: the copies keep 200 (they are in indexes)
    tagged = await client.patch(f"/v2/leads/{lead[1]['id']}", headers=admin.auth, json={"custom_fields": {"utm_campaign": long}})
    assert tagged.status_code == 200, tagged.text
    assert {r["id"]: r for r in await same()}[note.json()["id"]]["revenue_utm_campaign"] == long[:200]

    await db.execute("UPDATE deal SET lead_id = $2 WHERE id = $1", d1, lead[2]["id"])  # no API changes a deal's lead
    assert {r["id"]: r for r in await same()}[s["invoice"]]["revenue_lead_id"] == lead[2]["id"]
    await db.execute("DELETE FROM lead WHERE id = $1", lead[2]["id"])  # outright: the deal's lead goes to null
    assert {r["id"]: r for r in await same()}[note.json()["id"]]["revenue_lead_id"] is None
    team = (await client.get("/v2/analytics/dashboard", headers=admin.auth, params=RANGE)).json()["revenue"]
    assert (team["invoiced"], team["attributed"]) == (1400.00, 0.00)  # deal one has no lead now; deal three never had
    assert (await client.delete(f"/v2/deals/{d1}", headers=admin.auth)).status_code == 204
    assert {r["id"]: r for r in await same()}[note.json()["id"]]["revenue_deal_id"] is None
    theirs = (await client.get("/v2/analytics/dashboard", headers=two.auth, params=RANGE)).json()["revenue"]
    assert theirs["invoiced"] == 0.00  # the deal they were given is gone, and its invoices with it from their figures
    sources = (await client.get("/v2/attribution-reports", headers=admin.auth, params=RANGE)).json()["by_source"]
    assert {r["key"]: r["revenue"] for r in sources if r["revenue"]} == {"(no lead)": 1400.00}


async def test_roles_tenants_and_bad_input(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    s = await known_set(client, tenants, db)
    admin = s["admin"]
    stranger = await tenants.create()
    support = await tenants.add_user(admin, "support")
    paths = [
        "/v2/analytics/funnel",
        "/v2/analytics/agents",
        "/v2/analytics/dashboard",
        "/v2/business-intelligence/kpis",
        "/v2/attribution-reports",
    ]
    for path in paths:
        assert (await client.get(path, headers=support.auth)).status_code == 403, path
        theirs = await client.get(path, headers=stranger.auth)
        assert theirs.status_code == 200, path
        assert not any(f"L{n}" in theirs.text for n in range(1, 9)) and "Summer" not in theirs.text and "1250000" not in theirs.text
    other = {
        "funnel": (await client.get("/v2/analytics/funnel", headers=stranger.auth)).json()["funnel"][0]["count"],
        "agents": [r["agent_id"] for r in (await client.get("/v2/analytics/agents", headers=stranger.auth)).json()["data"]],
        "dashboard": (await client.get("/v2/analytics/dashboard", headers=stranger.auth)).json()["revenue"],
        "sources": (await client.get("/v2/attribution-reports", headers=stranger.auth)).json()["by_source"],
    }
    assert other == {
        "funnel": 0,
        "agents": [],
        "dashboard": {"attributed": 0, "pipeline": 0, "invoiced": 0, "currency": "AED"},
        "sources": [],
    }
    # Row-level security alone: the milestones of the first tenant are not visible with the second tenant set.
    async with db.transaction():
        await db.execute("SET LOCAL ROLE atrium_app")
        await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(stranger.tenant_id))
        assert await db.fetchval("SELECT count(*) FROM lead_milestone") == 0
        await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(admin.tenant_id))
        assert await db.fetchval("SELECT count(*) FROM lead_milestone") == 8
    # A read key without the analytics scope is refused; with it, read.
    _, key = await tenants.api_key(admin, "read", resources=["leads"])
    assert (await client.get("/v2/analytics/funnel", headers={"X-API-Key": key})).status_code == 403
    _, key = await tenants.api_key(admin, "read", resources=["analytics"])
    assert (await client.get("/v2/analytics/funnel", headers={"X-API-Key": key})).json()["funnel"][0]["count"] == 8
    for params, field in (
        ({"period": "2w"}, "period"),
        ({"start_date": RANGE["start_date"]}, "end_date"),
        ({"start_date": "2026-02-30", "end_date": RANGE["end_date"]}, "start_date"),
        ({"start_date": RANGE["start_date"], "end_date": "2020-01-01"}, "end_date"),
        ({"start_date": "2000-01-01", "end_date": "2026-01-01"}, "start_date"),
    ):
        bad = await client.get("/v2/analytics/funnel", headers=admin.auth, params=params)
        assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == field, (params, bad.text)
    assert (await client.get("/v2/analytics/agents", headers=admin.auth, params={"sort": "-email"})).status_code == 422
    assert (await client.get("/v2/analytics/dashboard", headers=admin.auth, params={"metrics": "leads,bots"})).status_code == 422


async def test_the_screen_and_its_files_show_the_callers_figures(
    client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection
) -> None:
    s = await known_set(client, tenants, db)
    admin, one = s["admin"], s["one"]
    names = {r["agent_id"]: r["agent_name"] for r in (await client.get("/v2/analytics/agents", headers=admin.auth)).json()["data"]}
    await browser_login(client, admin)
    page = await client.get("/analytics", params={"period": "custom", **RANGE})
    assert page.status_code == 200
    for text in (
        "Sales funnel",
        "Agent leaderboard",
        "Revenue over time",
        "Pipeline by stage",
        "Lead sources",
        'id="forecast"',
        "<svg",
        "<desc",
        "The whole team",
        "Performance score = 50 x min",
        names[one.user_id],
    ):
        assert text in page.text, text  # fmt: skip
    assert f'href="/analytics/export.pdf?period=custom&amp;start_date={RANGE["start_date"]}&amp;end_date={RANGE["end_date"]}"' in page.text
    fragment = await client.get("/analytics", params={"period": "7d"}, headers={"HX-Request": "true", "HX-Target": "analytics-report"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and fragment.headers["hx-push-url"] == "/analytics?period=7d"
    wrong = await client.get("/analytics", params={"period": "custom", "start_date": RANGE["start_date"], "end_date": "2001-01-01"})
    assert wrong.status_code == 422 and "cannot be before the start date" in wrong.text and "last 30 days are shown" in wrong.text

    xlsx = await client.get("/analytics/export.xlsx", params=RANGE)
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    funnel = [[c.value for c in row] for row in book["Funnel"].iter_rows(min_row=2)]
    assert [(r[0], r[1]) for r in funnel] == [
        ("started", 8),
        ("qualified", 4),
        ("phone_captured", 3),
        ("viewing_scheduled", 2),
        ("closed_won", 1),
    ]
    agents = {row[0].value: row[2].value for row in book["Agents"].iter_rows(min_row=2)}
    assert agents[names[one.user_id]] == 2
    assert sum(row[2].value for row in book["Revenue"].iter_rows(min_row=2)) == 1500

    pdf = await client.get("/analytics/export.pdf", params={"period": "custom", **RANGE})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages).lower()
    for expected in ("Sales funnel", "Agent leaderboard", names[one.user_id], "1,250,000", "Performance score", "Closed won", "1,500.00"):
        assert expected.lower() in text, expected

    exported = await db.fetch(
        "SELECT action, details FROM audit_log WHERE tenant_id = $1 AND action = 'analytics.exported' ORDER BY id", admin.tenant_id
    )
    assert [json.loads(r["details"])["format"] for r in exported] == ["xlsx", "pdf"]

    async with browser_client(client._transport.app) as other:  # type: ignore[attr-defined]
        await browser_login(other, one)
        own = await other.get("/analytics")
        assert own.status_code == 200 and "Your own figures" in own.text and names[s["two"].user_id] not in own.text
        stranger = await tenants.create()
        await browser_login(other, stranger)
        theirs = await other.get("/analytics")
        assert theirs.status_code == 200 and names[one.user_id] not in theirs.text and "Summer" not in theirs.text
        support = await tenants.add_user(admin, "support")
        await browser_login(other, support)
        assert (await other.get("/analytics")).status_code == 403
        assert (await other.get("/analytics/export.pdf")).status_code == 403
        assert (await other.get("/analytics/export.xlsx")).status_code == 403
