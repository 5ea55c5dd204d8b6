"""The deals issue's goals: a board of 7 stages x 1,000 open deals, read and moved.

    uv run python -m bench.board_bench [--per-stage 1000] [--requests 300]

Builds everything itself: an embedded PostgreSQL in a temporary directory, migrations, a tenant (its
default pipeline has 7 stages) with `--per-stage` open deals in every stage and 5,000 closed ones, then
runs `atrium serve --no-worker` (as docs/operations.md deploys it) and measures over loopback:

* baseline: a static file (framework floor, same run)
* GET /v2/kanban/board (the first 30 cards of each column, counts and totals of all), and the board's
  HTML page as a browser gets it
* PUT /v2/kanban/deals/{id}/move: random moves between and within stages, one at a time and with 8
  concurrent movers; afterwards every stage's positions are checked dense and unique.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
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
EMAIL = "board@bench.example.com"

DEALS_SQL = """
INSERT INTO deal (tenant_id, pipeline_id, stage_id, rank, title, value, currency, status, lost_reason, notes,
                  last_activity_at, created_at, updated_at, closed_at)
SELECT 1, s.pipeline_id, s.id, CASE WHEN g <= $1::int THEN g * 1024 END, 'Deal ' || s.position || '-' || g,
       (g * 1000 + s.position)::numeric, 'AED',
       CASE WHEN g <= $1::int THEN 'open' ELSE 'lost' END, CASE WHEN g > $1::int THEN 'Went elsewhere' END, '',
       now() - (g % 30) * interval '1 day', now() - g * interval '1 minute', now(), CASE WHEN g > $1::int THEN now() END
  FROM stage s, generate_series(1, $1::int + $2::int) g WHERE s.tenant_id = 1
"""


async def build(dsn: str, per_stage: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(DEALS_SQL, per_stage, 5000 // 7)
        await conn.execute("ANALYZE deal")
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
        cases = [
            ("baseline (static file)", "/static/app.css", {}),
            ("GET /v2/kanban/board", "/v2/kanban/board", api),
            ("board page (HTML)", "/pipeline", {}),
        ]
        print("latency: one request at a time; throughput: 8 concurrent clients (client, server and database share the cores)")
        print(f"{'case':<30}{'p50 ms':>9}{'p99 ms':>9}{'p50/base':>10}{'req/s @8':>10}{'p50 ms @8':>11}")
        base_p50 = None
        for name, path, headers in cases:
            await burst(client, path, headers, 20, concurrency=1)  # warm-up
            _, sequential = await burst(client, path, headers, requests // 2, concurrency=1)
            rps, concurrent = await burst(client, path, headers, requests)
            p50 = pct(sequential, 0.5)
            base_p50 = base_p50 or p50
            print(f"{name:<30}{p50:>9.2f}{pct(sequential, 0.99):>9.2f}{p50 / base_p50:>9.1f}x{rps:>10.0f}{pct(concurrent, 0.5):>11.2f}")

        conn = await asyncpg.connect(dsn)
        deals = [r["id"] for r in await conn.fetch("SELECT id FROM deal WHERE tenant_id = 1 AND status = 'open'")]
        stages = [r["id"] for r in await conn.fetch("SELECT id FROM stage WHERE tenant_id = 1 ORDER BY position")]
        rng = random.Random(7)

        async def moves(total: int, concurrency: int) -> tuple[float, list[float]]:
            latencies: list[float] = []
            remaining = total

            async def mover() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    body = {"stage_id": rng.choice(stages), "position": rng.randint(1, 40)}
                    started = time.perf_counter()
                    response = await client.put(f"/v2/kanban/deals/{rng.choice(deals)}/move", headers=api, json=body)
                    latencies.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        raise SystemExit(f"move: HTTP {response.status_code} {response.text[:300]}")

            started = time.perf_counter()
            await asyncio.gather(*(mover() for _ in range(concurrency)))
            return total / (time.perf_counter() - started), latencies

        await moves(20, 1)
        _, sequential = await moves(requests // 2, 1)
        rps, concurrent = await moves(requests, 8)
        p50 = pct(sequential, 0.5)
        name = "PUT …/move (random)"
        print(
            f"{name:<30}{p50:>9.2f}{pct(sequential, 0.99):>9.2f}{p50 / (base_p50 or p50):>9.1f}x{rps:>10.0f}{pct(concurrent, 0.5):>11.2f}"
        )
        counts = await conn.fetchrow(
            "SELECT count(*) AS open, count(DISTINCT (stage_id, rank)) AS places FROM deal WHERE tenant_id = 1 AND status = 'open'"
        )
        board = (await client.get("/v2/kanban/board", headers=api, params={"per_stage": 1000})).json()["data"]["stages"]
        dense = all([d["position"] for d in stage["deals"]] == list(range(1, min(stage["count"], 1000) + 1)) for stage in board)
        await conn.close()
        moved = requests * 3 // 2 + 20
        print(f"after {moved} moves: {counts['open']} open deals in {counts['places']} distinct places; positions dense: {dense}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-stage", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atrium-bench-board-") as tmp:
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
            [*cli, "createadmin", "--email", EMAIL, "--tenant", "Board", "--password", PASSWORD, "--plan", "enterprise"],
            env=env,
            check=True,
        )
        started = time.perf_counter()
        asyncio.run(build(dsn, args.per_stage))
        print(f"dataset: 7 stages x {args.per_stage:,} open deals + 5,000 closed in {time.perf_counter() - started:.0f}s\n")
        port = free_port()
        with serving(env, port):
            asyncio.run(measure(f"http://127.0.0.1:{port}", dsn, args.requests))


if __name__ == "__main__":
    main()
