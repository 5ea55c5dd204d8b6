"""The call center's goals: call analytics for a month, and the call log, over 1M calls in a tenant.

    uv run python -m bench.calls_bench [--calls 1000000] [--requests 100]

Builds an embedded PostgreSQL in a temporary directory, migrates it, makes a tenant whose `--calls` calls spread over
the past year (about 83,000 a month; inbound and outbound, four queues, 10 % abandoned, 5 % failed), then runs
`atrium serve --no-worker` and measures over loopback, one request at a time and with 8 concurrent clients, against
a static file in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, DatabaseUrls, migrate, start_embedded_postgres, with_user
from bench.common import burst, free_port, pct, serving

PASSWORD = "bench-password"
EMAIL = "calls@bench.example.com"
CALLS_SQL = """
INSERT INTO call (tenant_id, direction, status, from_number, to_number, agent_id, queue, started_at, answered_at, ended_at,
                  disposition, notes, transcript, created_at, updated_at)
SELECT 1, CASE WHEN g % 3 = 0 THEN 'outbound' ELSE 'inbound' END,
       CASE WHEN g % 10 = 0 THEN 'abandoned' WHEN g % 20 = 1 THEN 'failed' ELSE 'completed' END,
       '+9715' || lpad((g % 100000000)::text, 8, '0'), '200', (SELECT min(id) FROM app_user WHERE tenant_id = 1),
       (ARRAY['sales', 'support', 'billing', 'vip'])[1 + g % 4], s.started_at,
       CASE WHEN g % 10 <> 0 AND g % 20 <> 1 THEN s.started_at + (g % 90) * interval '1 second' END,
       s.started_at + (g % 90 + g % 600) * interval '1 second', '', '', '', s.started_at, s.started_at
  FROM generate_series($1::int, $2::int) g, LATERAL (SELECT now() - (g::float8 * 31536000 / $3) * interval '1 second' AS started_at) s
"""


async def build(dsn: str, calls: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for start in range(0, calls, 250_000):
            await conn.execute(CALLS_SQL, start + 1, min(start + 250_000, calls), calls)
        await conn.execute("VACUUM ANALYZE call")  # as autovacuum leaves a table that has settled
    finally:
        await conn.close()


async def measure(base: str, requests: int) -> None:
    last_month = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).replace(day=1).date()
    month_end = (last_month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        login = await client.post("/v2/auth/login", json={"email": EMAIL, "password": PASSWORD})
        login.raise_for_status()
        api = {"Authorization": f"Bearer {login.json()['token']}"}
        cases = [
            ("baseline (static file)", "/static/app.css"),
            ("analytics: a month, by day", f"/v2/telephony/analytics?period_type=daily&start_date={last_month}&end_date={month_end}"),
            ("analytics: today", "/v2/telephony/analytics?period_type=daily"),
            ("call log: latest 50", "/v2/calls"),
            ("call log: abandoned inbound", "/v2/calls?status=abandoned&direction=inbound"),
            ("call log: a week", f"/v2/calls?start_date={last_month}&end_date={last_month + timedelta(days=6)}"),
        ]
        print("latency: one request at a time; throughput: 8 concurrent clients (client, server and database share the cores)")
        print(f"{'case':<34}{'p50 ms':>9}{'p99 ms':>9}{'p50/base':>10}{'req/s @8':>10}")
        base_p50 = None
        for name, path in cases:
            headers = {} if path.startswith("/static") else api
            await burst(client, path, headers, 5, concurrency=1)
            _, sequential = await burst(client, path, headers, requests // 2, concurrency=1)
            rps, _ = await burst(client, path, headers, requests)
            p50 = pct(sequential, 0.5)
            base_p50 = base_p50 or p50
            print(f"{name:<34}{p50:>9.2f}{pct(sequential, 0.99):>9.2f}{p50 / base_p50:>9.1f}x{rps:>10.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atrium-bench-calls-") as tmp:
        dsn = start_embedded_postgres(Path(tmp))
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
        subprocess.run(
            [*cli, "createadmin", "--email", EMAIL, "--tenant", "Calls", "--password", PASSWORD, "--plan", "enterprise"],
            env=env,
            check=True,
        )
        started = time.perf_counter()
        asyncio.run(build(dsn, args.calls))
        print(f"dataset: {args.calls:,} calls over a year in {time.perf_counter() - started:.0f}s\n")
        port = free_port()
        with serving(env, port):
            asyncio.run(measure(f"http://127.0.0.1:{port}", args.requests))


if __name__ == "__main__":
    main()
