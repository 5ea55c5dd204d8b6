"""The support issue's goals: the ticket queue over 1M tickets and knowledge-base search over 100k articles.

    uv run python -m bench.support_bench [--tickets 1000000] [--articles 100000] [--requests 200]

Builds everything itself: an embedded PostgreSQL in a temporary directory, migrations, a tenant with `--tickets`
tickets (every status, priority and category, one in 20 assigned to the bench's person, due times around now,
a few per cent breached)
and `--articles` published articles whose bodies mix a common vocabulary with rare words, then runs
`atrium serve --no-worker` and measures over loopback, one request at a time (p50, p99) and with 8 concurrent
clients, against a static file in the same run (the framework's floor).
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
EMAIL = "support@bench.example.com"
WORDS = [
    "password", "login", "invoice", "refund", "viewing", "contract", "parking", "access", "leak", "maintenance", "ejari",
    "payment", "cheque", "deposit", "keys", "lift", "noise", "cleaning", "security", "internet",
]  # fmt: skip

TICKETS_SQL = """
INSERT INTO ticket (tenant_id, title, description, status, priority, category, tags, team, customer_email, customer_name,
                    assigned_to, sla_pauses, first_response_due_at, resolution_due_at, first_responded_at, resolved_at,
                    next_due_at, first_response_breached_at, created_at, updated_at)
SELECT 1, 'Ticket ' || g || ' about ' || ($3::text[])[1 + g % 20], 'Customer writes about ' || ($3::text[])[1 + (g / 7) % 20],
       (ARRAY['open', 'in_progress', 'waiting', 'resolved', 'closed'])[1 + g % 5],
       (ARRAY['low', 'medium', 'high', 'urgent', 'critical'])[1 + (g / 5) % 5],
       (ARRAY['technical', 'billing', 'maintenance', 'documents', 'general'])[1 + (g / 25) % 5], '{}', 'support',
       'customer' || g || '@example.com', 'Customer ' || g,
       CASE WHEN g % 20 = 0 THEN (SELECT min(id) FROM app_user WHERE tenant_id = 1) END, '[]',
       now() + ((g % 200) - 20) * interval '1 hour', now() + ((g % 400) - 10) * interval '1 hour',
       CASE WHEN g % 5 >= 1 THEN now() - interval '1 hour' END, CASE WHEN g % 5 >= 3 THEN now() - interval '30 minutes' END,
       CASE WHEN g % 5 < 3 THEN now() + ((g % 200) - 20) * interval '1 hour' END,
       CASE WHEN g % 50 = 0 THEN now() END,
       now() - g * interval '10 seconds', now()
  FROM generate_series($1::int, $2::int) g
"""
ARTICLES_SQL = """
INSERT INTO kb_article (tenant_id, title, content, body_text, category, tags, status, created_at, updated_at)
SELECT 1, 'How to ' || ($2::text[])[1 + g % 20] || ' ' || g, '', body, (ARRAY['billing', 'access', 'maintenance', 'general'])[1 + g % 4],
       ARRAY[($2::text[])[1 + (g / 3) % 20]], 'published', now(), now() - g * interval '1 minute'
  FROM (SELECT g, 'This article explains ' || ($2::text[])[1 + g % 20] || ' and ' || ($2::text[])[1 + (g / 11) % 20]
               || ' for tenants and owners. Reference code zq' || g || ' applies to building ' || (g % 300)
               || '. Contact the desk when the ' || ($2::text[])[1 + (g / 13) % 20] || ' problem persists.' AS body
          FROM generate_series(1, $1::int) g) s
"""


async def build(dsn: str, tickets: int, articles: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        # A bulk load parks trigram entries in GIN's pending list (fast), then merges them, as a restore would; the
        # app's index has no pending list (tickets arrive one at a time).
        await conn.execute("ALTER INDEX ticket_search_trgm SET (fastupdate = on)")
        for start in range(0, tickets, 250_000):  # in slices: one huge INSERT needs much memory
            size = min(250_000, tickets - start)
            await conn.execute(TICKETS_SQL, start + 1, start + size, WORDS)
        await conn.execute("SELECT gin_clean_pending_list('ticket_search_trgm')")
        await conn.execute("ALTER INDEX ticket_search_trgm SET (fastupdate = off)")
        await conn.execute(ARTICLES_SQL, articles, WORDS)
        await conn.execute("ANALYZE ticket")
        await conn.execute("ANALYZE kb_article")
    finally:
        await conn.close()


async def measure(base: str, requests: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        login = await client.post("/v2/auth/login", json={"email": EMAIL, "password": PASSWORD})
        login.raise_for_status()
        api = {"Authorization": f"Bearer {login.json()['token']}"}
        agent = (await client.get("/v2/auth/me", headers=api)).json()["id"]
        cases = [
            ("baseline (static file)", "/static/app.css"),
            ("queue: newest 50", "/v2/support/tickets"),
            ("queue: status=open", "/v2/support/tickets?status=open"),
            ("queue: open+high, by due", "/v2/support/tickets?status=open,in_progress&priority=high&sort=due"),
            ("queue: open view, by due", "/v2/support/tickets?status=open,in_progress,waiting&sort=due"),
            ("queue: one assignee's open", f"/v2/support/tickets?assigned_to={agent}&status=open,in_progress,waiting&sort=due"),
            ("queue: breached", "/v2/support/tickets?breached=true"),
            ("queue: category+priority", "/v2/support/tickets?category=billing&priority=urgent"),
            ("queue: search q=customer12345", "/v2/support/tickets?q=customer12345"),
            ("kb search: common word", "/v2/knowledge-base/search?query=password"),
            ("kb search: two words", "/v2/knowledge-base/search?query=parking%20refund"),
            ("kb search: rare word", "/v2/knowledge-base/search?query=zq4242"),
        ]
        print("latency: one request at a time; throughput: 8 concurrent clients (client, server and database share the cores)")
        print(f"{'case':<36}{'p50 ms':>9}{'p99 ms':>9}{'p50/base':>10}{'req/s @8':>10}")
        base_p50 = None
        for name, path in cases:
            headers = {} if path.startswith("/static") else api
            await burst(client, path, headers, 10, concurrency=1)  # warm-up
            _, sequential = await burst(client, path, headers, requests // 2, concurrency=1)
            rps, _ = await burst(client, path, headers, requests)
            p50 = pct(sequential, 0.5)
            base_p50 = base_p50 or p50
            print(f"{name:<36}{p50:>9.2f}{pct(sequential, 0.99):>9.2f}{p50 / base_p50:>9.1f}x{rps:>10.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atrium-bench-support-") as tmp:
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
            [*cli, "createadmin", "--email", EMAIL, "--tenant", "Support", "--password", PASSWORD, "--plan", "enterprise"],
            env=env,
            check=True,
        )
        started = time.perf_counter()
        asyncio.run(build(dsn, args.tickets, args.articles))
        print(f"dataset: {args.tickets:,} tickets, {args.articles:,} articles in {time.perf_counter() - started:.0f}s\n")
        port = free_port()
        with serving(env, port):
            asyncio.run(measure(f"http://127.0.0.1:{port}", args.requests))


if __name__ == "__main__":
    main()
