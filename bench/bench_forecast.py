"""The forecast and the customer segments at scale: 100,000 deals and 1,000,000 leads (issue #17).

    uv run python -m bench.bench_forecast [--leads 1000000] [--deals 100000] [--requests 100]

Builds everything itself: an embedded PostgreSQL in a temporary directory, migrations, a tenant with `--leads`
leads (app/demo/dataset.py's GENERATE) and `--deals` deals straight in SQL (about 70 % won over the last 36 months
with a seasonal pattern, 20 % open across the stages, 10 % lost, spread over 8 agents and linked to leads), a noise
tenant of a tenth of that, then runs `atrium serve --no-worker` and measures over loopback, in the same run:

* baselines: a static file (framework floor) and GET /v2/auth/me (authenticated plumbing, no query of its own)
* GET /v2/forecasting-models?months=12 for the team, for one agent (their deals), and months=24; the first
  request of each fits the model (reported apart as "first"), later ones reuse the fit cached per input series
* GET /v2/customer-segments for the team and for one agent

Latency is one request at a time (p50, p95, p99); throughput uses 8 concurrent clients. Client, server and
database share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, DatabaseUrls, migrate, start_embedded_postgres, with_user
from app.demo.dataset import BATCH, GENERATE, generate_args
from bench.common import burst, free_port, pct, serving

PASSWORD = "bench-password"
EMAIL = "forecast@bench.example.com"
AGENTS = 8

# $1 tenant, $2 first, $3 last, $4 agents' ids, $5 how many leads the tenant has (deals link to them).
DEALS = """
INSERT INTO deal (tenant_id, pipeline_id, stage_id, rank, title, value, currency, owner_id, lead_id, status, lost_reason,
                  expected_close_date, notes, closed_at, last_activity_at, created_at, updated_at)
SELECT $1, p.id, st.id, CASE WHEN kind = 'open' THEN g END, 'Deal ' || g,
       round((800000 + (g * 7919) % 4000000) * (ARRAY[1.25, 1.2, 1.15, 1.0, 0.9, 0.7, 0.6, 0.65, 0.9, 1.1, 1.2, 1.25])
             [extract(month FROM closed)::int], -3),
       'AED', ($4::bigint[])[1 + g % array_length($4::bigint[], 1)],
       (SELECT min(id) FROM lead WHERE tenant_id = $1) + (g * 104729) % $5, kind, CASE WHEN kind = 'lost' THEN 'Bench' END,
       CASE WHEN kind = 'open' AND g % 3 > 0 THEN (now() + (g % 300) * interval '1 day')::date END,
       '', CASE WHEN kind <> 'open' THEN closed END, closed, closed - interval '45 days', closed
  FROM (SELECT g, CASE WHEN g % 10 < 7 THEN 'won' WHEN g % 10 < 9 THEN 'open' ELSE 'lost' END AS kind,
               CASE WHEN g % 10 < 7 OR g % 10 = 9 THEN now() - ((g * 31) % 1080) * interval '1 day'
                    ELSE now() - (g % 60) * interval '1 day' END AS closed
          FROM generate_series($2::bigint, $3::bigint) g) s
       CROSS JOIN LATERAL (SELECT id FROM pipeline WHERE tenant_id = $1 AND is_default) p
       CROSS JOIN LATERAL (SELECT id FROM stage WHERE pipeline_id = p.id ORDER BY position
                            OFFSET CASE WHEN s.kind = 'open' THEN s.g % 7 ELSE 6 END LIMIT 1) st
"""


async def build(dsn: str, leads: int, deals: int, agents: list[int]) -> float:
    """The dataset, straight in SQL; returns seconds taken."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        tenant = await conn.fetchval("SELECT tenant_id FROM app_user WHERE email = $1", EMAIL)
        noise = await conn.fetchval("SELECT tenant_id FROM app_user WHERE email = 'noise@bench.example.com'")
        noise_admin = await conn.fetchval("SELECT id FROM app_user WHERE email = 'noise@bench.example.com'")
        for tenant_id, count, base in ((tenant, leads, 971_501_000_000), (noise, leads // 10, 971_509_000_000)):
            for first in range(1, count + 1, BATCH):
                await conn.execute(GENERATE, *generate_args(tenant_id, base, first, min(count, first + BATCH - 1)))
        for tenant_id, count, owners, lead_count in ((tenant, deals, agents, leads), (noise, deals // 10, [noise_admin], leads // 10)):
            for first in range(1, count + 1, BATCH):
                await conn.execute(DEALS, tenant_id, first, min(count, first + BATCH - 1), owners, lead_count)
        await conn.execute("VACUUM ANALYZE lead")
        await conn.execute("VACUUM ANALYZE deal")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def login(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post("/v2/auth/login", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def team(client: httpx.AsyncClient, api: dict[str, str]) -> list[int]:
    """The admin and 7 agents (invited and joined through the API, once)."""
    users = (await client.get("/v2/users", headers=api, params={"limit": 100})).json()
    users = users["data"] if isinstance(users, dict) else users
    if len(users) < AGENTS:
        for n in range(AGENTS - 1):
            invited = await client.post("/v2/users", headers=api, json={"email": f"agent{n}@bench.example.com", "role": "agent"})
            invited.raise_for_status()
            token = invited.json()["accept_url"].rsplit("/", 1)[1]
            (await client.post("/v2/auth/accept-invitation", json={"token": token, "password": PASSWORD})).raise_for_status()
        users = (await client.get("/v2/users", headers=api, params={"limit": 100})).json()
        users = users["data"] if isinstance(users, dict) else users
    return sorted(int(u["id"]) for u in users)


async def measure(base: str, dsn: str, requests: int, fresh: bool, leads: int, deals: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        api = await login(client, EMAIL)
        agents = await team(client, api)
        if fresh:
            seconds = await build(dsn, leads, deals, agents)
            print(
                f"dataset: {leads:,} leads + {deals:,} deals over {len(agents)} people, a tenth of each in a noise tenant, "
                f"in {seconds:.0f}s\n"
            )
        agent = await login(client, "agent0@bench.example.com")
        cases: list[tuple[str, str, dict[str, str]]] = [
            ("baseline: static file", "/static/app.css", {}),
            ("baseline: GET /v2/auth/me", "/v2/auth/me", api),
            ("forecast, team, 12 months", "/v2/forecasting-models?months=12", api),
            ("forecast, team, 24 months", "/v2/forecasting-models?months=24", api),
            ("forecast, one agent, 12 months", "/v2/forecasting-models?months=12", agent),
            ("segments, team (snapshot)", "/v2/customer-segments", api),
            ("segments, one agent", "/v2/customer-segments", agent),
        ]
        for name, path, headers in cases[2:]:
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            response.raise_for_status()
            data = response.json()["data"]
            took = (time.perf_counter() - started) * 1000
            if isinstance(data, dict):
                metrics, naive = data["accuracy_metrics"], data["baseline_metrics"]
                print(
                    f"{name}: first request {took:.0f} ms (fit + back-test); {data['method']} on {len(data['history'])} months, "
                    f"MAPE {metrics['mape']:.3f} vs naive {naive['mape']:.3f}, weighted pipeline {data['weighted_pipeline_total']:,.0f}"
                )
            else:
                print(f"{name}: first request {took:.0f} ms; " + ", ".join(f"{s['key']} {s['customer_count']:,}" for s in data))
        print("\nlatency: one request at a time; throughput: 8 concurrent clients (client, server and database share the cores)")
        print(f"{'case':<32}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'p50/me':>8}{'req/s @8':>10}{'p50 ms @8':>11}")
        me_p50 = None
        for name, path, headers in cases:
            await burst(client, path, headers, 5, concurrency=1)  # warm-up
            _, sequential = await burst(client, path, headers, requests // 2, concurrency=1)
            rps, concurrent = await burst(client, path, headers, requests)
            p50 = pct(sequential, 0.5)
            if path == "/v2/auth/me":
                me_p50 = p50
            ratio = f"{p50 / me_p50:>7.1f}x" if me_p50 else f"{'':>8}"
            spread = f"{p50:>9.2f}{pct(sequential, 0.95):>9.2f}{pct(sequential, 0.99):>9.2f}"
            print(f"{name:<32}{spread}{ratio}{rps:>10.0f}{pct(concurrent, 0.5):>11.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="build the database in this directory and reuse it on the next run (for EXPLAIN)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atrium-bench-forecast-") as tmp:
        where = args.keep or Path(tmp)
        fresh = not (where / "pgdata").exists()
        dsn = start_embedded_postgres(where)
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
        if fresh:
            cli = [sys.executable, "-m", "app.cli"]
            for email, tenant in ((EMAIL, "Forecast"), ("noise@bench.example.com", "Noise")):
                subprocess.run(
                    [*cli, "createadmin", "--email", email, "--tenant", tenant, "--password", PASSWORD, "--plan", "enterprise"],
                    env=env,
                    check=True,
                )
        port = free_port()
        with serving(env, port):
            asyncio.run(measure(f"http://127.0.0.1:{port}", dsn, args.requests, fresh, args.leads, args.deals))


if __name__ == "__main__":
    main()
