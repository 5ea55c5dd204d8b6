"""Messages' goals: the templates list with its performance counters, and the communications log, over 500k
communications in a tenant.

    uv run python -m bench.messages_bench [--communications 500000] [--requests 100]

Builds an embedded PostgreSQL in a temporary directory, migrates it, makes a tenant (with its three default templates)
whose `--communications` memos to 5,000 leads spread over the past year (60 % delivered, 30 % opened, 8 % replied),
then runs `atrium serve --no-worker` and measures over loopback, one request at a time and with 8 concurrent clients,
against a static file in the same run.
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
from bench.common import burst, free_port, pct, serving

PASSWORD = "bench-password"
EMAIL = "messages@bench.example.com"
LEADS = 5_000
LEADS_SQL = """
INSERT INTO lead (tenant_id, name, phone, email, source, language, status, budget_currency, preferred_locations, hotness_score,
                  temperature, score_factors, score_confidence, message_count, voice_messages_sent, images_uploaded,
                  conversation_data, custom_fields, notes, created_at, updated_at, ghost_reminder_sent)
SELECT 1, 'Lead ' || g, '+9715' || lpad(g::text, 8, '0'), 'lead' || g || '@example.com', 'web', 'en', 'NEW', 'AED', '{}', 0, 'cold',
       '{}', 0, 0, 0, 0, '{}', '{}', '', now(), now(), false
  FROM generate_series(1, $1) g
"""
COMMUNICATIONS_SQL = """
INSERT INTO communication (tenant_id, template_id, lead_id, channel, recipient, recipient_name, subject, body, status, transport,
                           sent_at, delivered_at, opened_at, replied_at, reply_text, created_at, updated_at)
SELECT 1, t.ids[1 + g % 3], l.first + g % $3, 'email', 'lead' || (g % $3) || '@example.com', 'Lead', 'Quick question',
       'Hi, quick question about your property.', CASE WHEN g % 100 < 8 THEN 'replied' WHEN g % 100 < 38 THEN 'opened'
       ELSE 'delivered' END, 'smtp', s.at, s.at + interval '1 minute', CASE WHEN g % 100 < 38 THEN s.at + interval '1 hour' END,
       CASE WHEN g % 100 < 8 THEN s.at + interval '3 hours' END, CASE WHEN g % 100 < 8 THEN 'Yes, call me' ELSE '' END, s.at, s.at
  FROM generate_series($1::int, $2::int) g,
       (SELECT array_agg(id ORDER BY id) AS ids FROM message_template WHERE tenant_id = 1) t,
       (SELECT min(id) AS first FROM lead WHERE tenant_id = 1) l,
       LATERAL (SELECT now() - (g::float8 * 31536000 / $4) * interval '1 second' AS at) s
"""


async def build(dsn: str, communications: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(LEADS_SQL, LEADS)
        for start in range(0, communications, 250_000):
            await conn.execute(COMMUNICATIONS_SQL, start + 1, min(start + 250_000, communications), LEADS, communications)
        await conn.execute("VACUUM ANALYZE communication")  # as autovacuum leaves a table that has settled
        await conn.execute("VACUUM ANALYZE lead")
    finally:
        await conn.close()


async def measure(base: str, requests: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        login = await client.post("/v2/auth/login", json={"email": EMAIL, "password": PASSWORD})
        login.raise_for_status()
        api = {"Authorization": f"Bearer {login.json()['token']}"}
        lead = (await client.get("/v2/leads", params={"limit": 1}, headers=api)).json()["data"][0]["id"]
        cases = [
            ("baseline (static file)", "/static/app.css"),
            ("templates with performance", "/v2/communications/templates"),
            ("log: latest 50", "/v2/communications"),
            ("log: replied", "/v2/communications?status=replied"),
            ("log: one lead's", f"/v2/communications?lead_id={lead}"),
            ("customer journey of a lead", f"/v2/customer-journey/{lead}"),
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
    parser.add_argument("--communications", type=int, default=500_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atrium-bench-messages-") as tmp:
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
            [*cli, "createadmin", "--email", EMAIL, "--tenant", "Messages", "--password", PASSWORD, "--plan", "enterprise"],
            env=env,
            check=True,
        )
        started = time.perf_counter()
        asyncio.run(build(dsn, args.communications))
        print(f"dataset: {args.communications:,} communications to {LEADS:,} leads over a year in {time.perf_counter() - started:.0f}s\n")
        port = free_port()
        with serving(env, port):
            asyncio.run(measure(f"http://127.0.0.1:{port}", args.requests))


if __name__ == "__main__":
    main()
