"""The agent's workspace at size: My day's call-next queue and the leads list's activity columns.

    uv run python -m bench.workspace_bench [--leads 200000] [--requests 200]

Builds everything itself: an embedded PostgreSQL in a temporary directory, migrations, a tenant with `--leads`
leads (bench.leads_dataset's generator), open tasks on every third lead (half of them overdue) and done tasks on
every fifth, then runs `atrium serve --no-worker` and measures over loopback (one request at a time, then 8
concurrent clients), each against the same run's baselines:

* baseline: a static file (framework floor)
* My day (`/my-day`): the person's tasks and the ranked call-next queue (hot and high-score leads with no next step)
* the leads page without its activity columns (`cols=contact,property,agent`), then with them (next activity,
  overdue, last activity: one query for the page's leads), so the columns' cost is the difference
* `GET /v2/activities?overdue=true` (the overdue tasks list)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg
import httpx

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, DatabaseUrls, migrate, start_embedded_postgres, with_user
from bench.common import burst, free_port, pct, serving
from bench.leads_bench import _refill
from bench.leads_dataset import generate

PASSWORD = "bench-password"
EMAIL = "bench@bench.example.com"

TASKS = """
INSERT INTO task (tenant_id, type, subject, due_at, done, done_at, outcome, notes, owner_id, lead_id, source, created_at, updated_at)
SELECT 1, 'call', 'Call ' || l.name, now() + ((l.id % 20) - 10) * interval '1 day', false, NULL, '', '', $1::bigint, l.id, 'manual',
       now(), now()
  FROM lead l WHERE l.tenant_id = 1 AND l.id % 3 = 0
UNION ALL
SELECT 1, 'call', 'Called ' || l.name, now() - (l.id % 30) * interval '1 day', true, now() - (l.id % 30) * interval '1 day', 'connected',
       '', $1::bigint, l.id, 'manual', now(), now()
  FROM lead l WHERE l.tenant_id = 1 AND l.id % 5 = 0
"""


async def _tasks(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        admin = await conn.fetchval("SELECT id FROM app_user WHERE tenant_id = 1 ORDER BY id LIMIT 1")
        await conn.execute(TASKS, admin)
        await conn.execute("VACUUM ANALYZE task")
        return int(await conn.fetchval("SELECT count(*) FROM task"))
    finally:
        await conn.close()


async def measure(base: str, dsn: str, requests: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        login = await client.post("/v2/auth/login", json={"email": EMAIL, "password": PASSWORD})
        login.raise_for_status()
        api = {"Authorization": f"Bearer {login.json()['token']}"}
        page = await client.get("/login")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert csrf
        await client.post("/login", data={"email": EMAIL, "password": PASSWORD, "_csrf_token": csrf.group(1)})
        fragment = {"HX-Request": "true", "HX-Target": "lead-results"}
        cases = [
            ("baseline (static file)", "/static/app.css", {}),
            ("My day (call-next queue)", "/my-day", {}),
            ("leads page, no activity cols", "/leads?agent=any&cols=contact,property,agent", fragment),
            ("leads page, activity cols", "/leads?agent=any", fragment),
            ("overdue tasks (API)", "/v2/activities?overdue=true&limit=50", api),
        ]
        print("latency: one request at a time; throughput: 8 concurrent clients (client, server and database share the cores)")
        print(f"{'case':<32}{'p50 ms':>9}{'p99 ms':>9}{'p50/base':>10}{'req/s @8':>10}{'p50 ms @8':>11}")
        base_p50 = None
        for name, path, headers in cases:
            await _refill(dsn)
            await burst(client, path, headers, 20, concurrency=1)  # warm-up
            _, sequential = await burst(client, path, headers, requests // 2, concurrency=1)
            await _refill(dsn)
            rps, concurrent = await burst(client, path, headers, requests)
            p50 = pct(sequential, 0.5)
            base_p50 = base_p50 or p50
            print(f"{name:<32}{p50:>9.2f}{pct(sequential, 0.99):>9.2f}{p50 / base_p50:>9.1f}x{rps:>10.0f}{pct(concurrent, 0.5):>11.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atrium-bench-") as tmp:
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
        }
        cli = [sys.executable, "-m", "app.cli"]
        subprocess.run(
            [*cli, "createadmin", "--email", EMAIL, "--tenant", "Bench", "--password", PASSWORD, "--plan", "enterprise"],
            env=env,
            check=True,
        )
        seconds = asyncio.run(generate(dsn, 1, args.leads, 971_500_000_000))
        tasks = asyncio.run(_tasks(dsn))
        print(f"dataset: {args.leads:,} leads ({seconds:.0f}s), {tasks:,} tasks\n")
        port = free_port()
        with serving(env, port):
            asyncio.run(measure(f"http://127.0.0.1:{port}", dsn, args.requests))


if __name__ == "__main__":
    main()
