"""The analytics issue's goals: 1M leads, 100k deals, 100k invoices; funnel, agents and dashboard p50 under 50 ms each,
the dashboard page under 100 ms.

    uv run python -m bench.bench_analytics [--leads 1000000] [--deals 100000] [--invoices 100000] [--requests 200]
                                           [--keep DIR] [--cases TEXT]

Builds everything itself: an embedded PostgreSQL in a temporary directory, migrations, a tenant with 20 agents, `--leads`
leads over two years (app/demo/dataset.py, the lead_milestone triggers filling the funnel's table as they insert, then
the demo's history: answers, qualification, viewings and closes spread over hours and days), `--deals` deals (30 % won
over two years, 10 % lost, the rest open in the 7 stages), `--invoices` invoices over two years (most for won deals,
some drafts and void ones), then runs `atrium serve --no-worker` and measures over loopback, one request at a time
(p50, p99) and with 8 concurrent clients:

* baseline: a static file (framework floor, same run)
`--keep DIR` builds the database in DIR and keeps it: a later run with the same DIR migrates it (new migrations and
their backfills run on the full dataset) and measures again without building; `--cases TEXT` measures only the cases
whose name contains TEXT (and the baseline).

* GET /v2/analytics/funnel (30 and 365 days), /v2/analytics/agents, /v2/analytics/dashboard, /v2/business-intelligence/kpis,
  /v2/attribution-reports, and the /analytics page as a browser gets it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, DatabaseUrls, migrate, start_embedded_postgres, with_user
from app.demo.loader import DEMO_MILESTONES
from bench.common import burst, free_port, pct, serving
from bench.leads_dataset import generate

PASSWORD = "bench-password"
EMAIL = "analytics@bench.example.com"
AGENTS = 20

AGENTS_SQL = """
WITH a AS (INSERT INTO account (email, full_name, password_hash)
           SELECT 'agent' || g || '@bench.example.com', 'Agent ' || g, 'not-a-hash' FROM generate_series(1, $1::bigint) g
           RETURNING id, email, full_name)
INSERT INTO app_user (tenant_id, account_id, email, full_name, role, is_active) SELECT 1, id, email, full_name, 'agent', true FROM a
"""
ASSIGN_SQL = """
UPDATE lead SET agent_id = (SELECT array_agg(id ORDER BY id) FROM app_user WHERE tenant_id = 1 AND role = 'agent')[1 + id % $1::int]
 WHERE tenant_id = 1 AND id % 10 <> 0
"""
DEALS_SQL = """
INSERT INTO deal (tenant_id, pipeline_id, stage_id, rank, title, value, currency, owner_id, lead_id, status, lost_reason, notes,
                  last_activity_at, created_at, updated_at, closed_at)
SELECT 1, s.pipeline_id, s.id, CASE WHEN g % 10 >= 4 THEN g * 1024 END, 'Deal ' || g, 300000 + (g * 104729 % 147) * 100000, 'AED',
       (SELECT array_agg(id ORDER BY id) FROM app_user WHERE tenant_id = 1 AND role = 'agent')[(1 + g % $3::int)::int],
       1 + (g * 7919) % $2::bigint,
       CASE WHEN g % 10 < 3 THEN 'won' WHEN g % 10 = 3 THEN 'lost' ELSE 'open' END,
       CASE WHEN g % 10 = 3 THEN 'Went elsewhere' END, '', now(), now() - (g % 730) * interval '1 day', now(),
       CASE WHEN g % 10 < 4 THEN now() - (g % 730) * interval '1 day' + (g % 86400) * interval '1 second' END
  FROM generate_series(1, $1::bigint) g
  JOIN stage s ON s.tenant_id = 1 AND s.position = 1 + g % 7
"""
INVOICES_SQL = """
INSERT INTO invoice (tenant_id, invoice_number, kind, status, customer_type, customer_name, deal_id, issue_date, due_date, currency,
                     subtotal, discount_amount, tax_amount, total_amount, amount_paid)
SELECT 1, 'INV-B-' || g, 'invoice', st, 'company', 'Bench customer ' || g % 500,
       CASE WHEN g % 10 < 7 THEN w.ids[(1 + (g * 31) % cardinality(w.ids))::int] END,
       d, d + 30, 'AED', amount, 0, round(amount * 0.05, 2), round(amount * 1.05, 2),
       CASE WHEN st = 'paid' THEN round(amount * 1.05, 2) ELSE 0 END
  FROM (SELECT g, (current_date - (g % 730)::int)::date AS d, (5000 + (g * 7919 % 90000))::numeric AS amount,
               CASE WHEN g % 20 = 0 THEN 'draft' WHEN g % 20 = 1 THEN 'void' WHEN g % 3 = 0 THEN 'sent' ELSE 'paid' END AS st
          FROM generate_series(1, $1::bigint) g) x
 CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM deal WHERE tenant_id = 1 AND status = 'won') w
"""


async def build(dsn: str, leads: int, deals: int, invoices: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(AGENTS_SQL, AGENTS)
        seconds = await generate(dsn, 1, leads, 971_500_000_000)
        print(f"  {leads:,} leads in {seconds:.0f}s (milestones by trigger)")
        started = time.perf_counter()
        await conn.execute(ASSIGN_SQL, AGENTS)
        await conn.execute(DEMO_MILESTONES, 1)
        print(f"  agents assigned and history spread in {time.perf_counter() - started:.0f}s")
        started = time.perf_counter()
        await conn.execute(DEALS_SQL, deals, leads, AGENTS)
        await conn.execute("ANALYZE deal")
        await conn.execute(INVOICES_SQL, invoices)
        print(f"  {deals:,} deals and {invoices:,} invoices in {time.perf_counter() - started:.0f}s")
        for table in ("lead", "lead_milestone", "deal", "invoice"):
            await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()


async def measure(base: str, requests: int, only: str = "") -> None:
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        login = await client.post("/v2/auth/login", json={"email": EMAIL, "password": PASSWORD})
        login.raise_for_status()
        api = {"Authorization": f"Bearer {login.json()['token']}"}
        page = await client.get("/login")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert csrf
        await client.post("/login", data={"email": EMAIL, "password": PASSWORD, "_csrf_token": csrf.group(1)})
        cases = [
            ("baseline (static file)", "/static/app.css", {}, None),
            ("funnel 30d", "/v2/analytics/funnel?period=30d", api, 50),
            ("funnel 365d", "/v2/analytics/funnel?period=365d", api, None),
            ("agents 30d", "/v2/analytics/agents?period=30d", api, 50),
            ("dashboard month", "/v2/analytics/dashboard?period=month", api, 50),
            ("kpis 30d", "/v2/business-intelligence/kpis?period=30d", api, None),
            ("attribution 30d", "/v2/attribution-reports?period=30d", api, None),
            ("/analytics page 30d (HTML)", "/analytics?period=30d", {}, 100),
        ]
        print("latency: one request at a time; throughput: 8 concurrent clients (client, server and database share the cores)")
        print(f"{'case':<30}{'p50 ms':>9}{'p99 ms':>9}{'p50/base':>10}{'req/s @8':>10}{'p50 ms @8':>11}{'goal p50':>10}")
        base_p50 = None
        for name, path, headers, goal in cases:
            if only and only not in name and not name.startswith("baseline"):
                continue
            await burst(client, path, headers, 10, concurrency=1)  # warm-up
            _, sequential = await burst(client, path, headers, requests // 2, concurrency=1)
            rps, concurrent = await burst(client, path, headers, requests)
            p50 = pct(sequential, 0.5)
            base_p50 = base_p50 or p50
            verdict = "" if goal is None else f"{'<' if p50 < goal else '>='} {goal} ms"
            print(
                f"{name:<30}{p50:>9.2f}{pct(sequential, 0.99):>9.2f}{p50 / base_p50:>9.1f}x{rps:>10.0f}{pct(concurrent, 0.5):>11.2f}"
                f"{verdict:>10}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="build the dataset in this directory and keep it (reused when built)")
    parser.add_argument("--cases", default="", help="measure only the cases whose name contains this")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        tmp = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="atrium-bench-analytics-")))
        built = tmp / "built"
        dsn = start_embedded_postgres(tmp)
        urls = DatabaseUrls(app=with_user(dsn, LOGIN_ROLE), owner=dsn, system=with_user(dsn, SYSTEM_LOGIN))
        asyncio.run(migrate(urls))
        env = {
            **os.environ,
            "DATABASE_URL": urls.app,
            "DATABASE_OWNER_URL": dsn,
            "DATABASE_SYSTEM_URL": urls.system,
            "SECRET_KEY": "bench-secret-0123456789abcdefghijklmnop",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMITS": "off",
        }
        cli = [sys.executable, "-m", "app.cli"]
        if built.exists():
            print(f"dataset: kept in {tmp} ({built.read_text().strip()})\n")
        else:
            subprocess.run(
                [*cli, "createadmin", "--email", EMAIL, "--tenant", "Analytics", "--password", PASSWORD, "--plan", "enterprise"],
                env=env,
                check=True,
            )
            started = time.perf_counter()
            print("dataset:")
            asyncio.run(build(dsn, args.leads, args.deals, args.invoices))
            print(f"dataset built in {time.perf_counter() - started:.0f}s\n")
            if args.keep:
                built.write_text(f"{args.leads} leads, {args.deals} deals, {args.invoices} invoices\n")
        port = free_port()
        with serving(env, port):
            asyncio.run(measure(f"http://127.0.0.1:{port}", args.requests, args.cases))


if __name__ == "__main__":
    main()
