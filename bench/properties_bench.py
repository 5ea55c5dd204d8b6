"""The properties issue's goals at 100,000 properties: the filtered list, buyer matching and portfolio stats.

    uv run python -m bench.properties_bench [--properties 100000] [--noise-tenants 2] [--requests 300]

Builds everything itself: an embedded PostgreSQL in a temporary directory, migrations, a tenant with
`--properties` properties (app/demo/dataset.py's PROPERTIES, set-based in SQL: nine Dubai neighbourhoods,
every stage, tags, owners, prices) and 2,000 leads (buyers to match), noise tenants of 20,000 properties
each, then runs `atrium serve --no-worker` (as docs/operations.md deploys it, the app's own login role)
and measures over loopback, in the same run:

* baselines: a static file (framework floor) and GET /v2/auth/me (the authenticated plumbing: token,
  tenant transaction, ETag; no query of its own)
* GET /v2/properties with filter combinations: default order, stage + score (the guide's workflow 3),
  tags, search (a common and a rare term), neighbourhood + price + bedrooms by score
* POST /v2/properties/match: a buyer's wishes, a wide budget, and a lead's own (lead_id)
* GET /v2/portfolio/stats, all time and for one quarter

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
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, DatabaseUrls, migrate, start_embedded_postgres, with_user
from app.demo.dataset import BATCH, GENERATE, PROPERTIES, generate_args, property_args
from bench.common import burst, free_port, pct, serving

PASSWORD = "bench-password"
EMAIL = "properties@bench.example.com"
LEADS = 2_000


async def build(dsn: str, properties: int, noise_tenants: int) -> float:
    """The dataset, straight in SQL; returns seconds taken."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        admin = await conn.fetchval("SELECT id FROM app_user WHERE email = $1", EMAIL)
        for first in range(1, properties + 1, BATCH):
            last = min(properties, first + BATCH - 1)
            await conn.execute(PROPERTIES, *property_args(1, first, last, [admin], admin, 971_501_000_000))
        await conn.execute(GENERATE, *generate_args(1, 971_555_000_000, 1, LEADS))
        for n in range(noise_tenants):
            tenant = n + 2
            await conn.execute(PROPERTIES, *property_args(tenant, 1, 20_000, [], None, 971_502_000_000 + n * 1_000_000))
        # As autovacuum leaves a table after a bulk load: statistics, and the visibility map index-only scans need.
        await conn.execute("VACUUM ANALYZE property")
        await conn.execute("VACUUM ANALYZE lead")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def measure(base: str, dsn: str, requests: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        login = await client.post("/v2/auth/login", json={"email": EMAIL, "password": PASSWORD})
        login.raise_for_status()
        api = {"Authorization": f"Bearer {login.json()['token']}"}
        conn = await asyncpg.connect(dsn)
        lead_id = await conn.fetchval("SELECT id FROM lead WHERE tenant_id = 1 AND property_type = 'APARTMENT' ORDER BY id LIMIT 1")
        await conn.close()
        quarter_start = date.today() - timedelta(days=90)
        buyer = {"budget_min": 2_000_000, "budget_max": 3_500_000, "bedrooms": [2, 3], "neighborhoods": ["Dubai Marina", "JBR"]}
        cases: list[tuple[str, str, dict[str, str], Any]] = [
            ("baseline: static file", "/static/app.css", {}, None),
            ("baseline: GET /v2/auth/me", "/v2/auth/me", api, None),
            ("list, default order", "/v2/properties?limit=50", api, None),
            ("list, stage + score", "/v2/properties?stage=qualified&bird_dog_score__gte=0.7&limit=50", api, None),
            (
                "list, workflow 3 (4 filters)",
                "/v2/properties?stage=outreach&bird_dog_score__gte=0.7&has_memo=false&has_reply=false&limit=50",
                api,
                None,
            ),
            ("list, 2 stages by score", "/v2/properties?stage=negotiation,under_contract&sort=-bird_dog_score&limit=50", api, None),
            ("list, tags=motivated-seller", "/v2/properties?tags=motivated-seller&limit=50", api, None),
            ("list, 2 tags + stage", "/v2/properties?tags=motivated-seller,sea-view&stage=new&limit=50", api, None),
            ("list, search=hassan", "/v2/properties?search=hassan&limit=50", api, None),
            ("list, search=cayan (rarer)", "/v2/properties?search=cayan%20tower&limit=50", api, None),
            (
                "list, place + price + beds",
                "/v2/properties?neighborhood=Downtown&price_min=2000000&price_max=5000000&bedrooms=2&sort=-bird_dog_score&limit=50",
                api,
                None,
            ),
            ("match, a buyer's wishes", "/v2/properties/match", api, buyer),
            ("match, 1M-15M, no place", "/v2/properties/match", api, {"budget_min": 1_000_000, "budget_max": 15_000_000}),
            ("match, lead_id", "/v2/properties/match", api, {"lead_id": lead_id}),
            ("portfolio stats", "/v2/portfolio/stats", api, None),
            ("portfolio stats, a quarter", f"/v2/portfolio/stats?date_from={quarter_start}&date_to={date.today()}", api, None),
        ]
        for name, path, headers, body in cases[2:]:  # what each case returns, so the numbers can be read
            response = await (client.post(path, headers=headers, json=body) if body is not None else client.get(path, headers=headers))
            response.raise_for_status()
            answer = response.json()
            if "total_matches" in answer:
                best = answer["matches"][0]["match_score"] if answer["matches"] else "-"
                print(f"{name}: {answer['total_matches']:,} matches, best {best}")
            elif "total_properties" in answer:
                print(f"{name}: {answer['total_properties']:,} properties")
            elif "x-total-count" in response.headers:
                estimate = " (estimate)" if response.headers.get("x-total-is-estimate") else ""
                print(f"{name}: {int(response.headers['x-total-count']):,} properties{estimate}")
        print("\nlatency: one request at a time; throughput: 8 concurrent clients (client, server and database share the cores)")
        print(f"{'case':<32}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'p50/base':>10}{'p50/me':>8}{'req/s @8':>10}{'p50 ms @8':>11}")
        base_p50 = me_p50 = None
        for name, path, headers, body in cases:
            await burst(client, path, headers, 20, concurrency=1, body=body)  # warm-up
            _, sequential = await burst(client, path, headers, requests // 2, concurrency=1, body=body)
            rps, concurrent = await burst(client, path, headers, requests, body=body)
            p50 = pct(sequential, 0.5)
            base_p50 = base_p50 or p50
            if path == "/v2/auth/me":
                me_p50 = p50
            ratio = f"{p50 / me_p50:>7.1f}x" if me_p50 else f"{'':>8}"
            print(
                f"{name:<32}{p50:>9.2f}{pct(sequential, 0.95):>9.2f}{pct(sequential, 0.99):>9.2f}{p50 / base_p50:>9.1f}x{ratio}"
                f"{rps:>10.0f}{pct(concurrent, 0.5):>11.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--properties", type=int, default=100_000)
    parser.add_argument("--noise-tenants", type=int, default=2)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--keep", type=Path, help="build the database in this directory and reuse it on the next run (for EXPLAIN)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atrium-bench-properties-") as tmp:
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
            subprocess.run(
                [*cli, "createadmin", "--email", EMAIL, "--tenant", "Properties", "--password", PASSWORD, "--plan", "enterprise"],
                env=env,
                check=True,
            )
            for n in range(args.noise_tenants):
                subprocess.run(
                    [*cli, "createadmin", "--email", f"noise{n}@bench.example.com", "--tenant", f"Noise {n}", "--password", PASSWORD],
                    env=env,
                    check=True,
                )
            seconds = asyncio.run(build(dsn, args.properties, args.noise_tenants))
            print(f"dataset: {args.properties:,} properties + {LEADS:,} leads, {args.noise_tenants} x 20,000 noise in {seconds:.0f}s\n")
        port = free_port()
        with serving(env, port):
            asyncio.run(measure(f"http://127.0.0.1:{port}", dsn, args.requests))


if __name__ == "__main__":
    main()
