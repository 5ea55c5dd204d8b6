"""The leads issue's goals at 1M leads: list and search latency, and CSV/XLSX export throughput and memory.

    uv run python -m bench.leads_bench [--leads 1000000] [--noise-tenants 4] [--requests 400]

Builds everything itself: an embedded PostgreSQL in a temporary directory, migrations, a tenant
with `--leads` leads and noise tenants of 50,000 leads each (bench.leads_dataset), then runs
`atrium serve --no-worker` and measures over loopback with 8 concurrent keep-alive clients:

* baseline: a static file (framework floor, same run)
* list: GET /v2/leads (default sort), status=QUALIFIED, a multi-filter query sorted by score, four of the
  advanced filters (e-mail, no next step, purpose, location: a tenth of the leads), and a tag no lead has
  (the whole tenant read, measured with 10 requests)
* search: GET /v2/leads?q=…, and the leads page's htmx fragment with a search term
* export: CSV of every lead (rows/s, peak server RSS growth), XLSX of < 100k rows

The rate-limit bucket is refilled between cases (the benchmark measures the app, not the limiter).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import asyncpg
import httpx
import psutil

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, DatabaseUrls, migrate, start_embedded_postgres, with_user
from bench.common import burst, free_port, pct, serving
from bench.leads_dataset import generate

PASSWORD = "bench-password"
EMAIL = "bench@bench.example.com"


class PeakRSS:
    """Samples a process's resident memory every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def _refill(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM rate_limit_bucket")
    finally:
        await conn.close()


async def measure(base: str, dsn: str, server_pid: int, requests: int) -> None:
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
            ("list, default sort", "/v2/leads?limit=50", api),
            ("list, status=QUALIFIED", "/v2/leads?status=QUALIFIED&limit=50&sort=-created_at", api),
            ("list, 3 filters, by score", "/v2/leads?status=QUALIFIED&property_type=APARTMENT&budget_min=2000000&sort=-hotness_score", api),
            ("list, 4 more filters", "/v2/leads?has_email=true&no_next_step=true&purpose=LIVING&location=jbr&limit=50", api),
            # No lead matches: the page reads the whole tenant (a few seconds at 1M), so a few requests only.
            ("list, tag nobody has", "/v2/leads?tag=vip&limit=50", api, 10),
            ("search q=hassan", "/v2/leads?q=hassan&limit=50", api),
            ("search q=lead123 (rare)", "/v2/leads?q=lead12345&limit=50", api),
            ("page fragment, search", "/leads?q=hassan", fragment),
        ]
        print("latency: one request at a time; throughput: 8 concurrent clients (client, server and database share the cores)")
        print(f"{'case':<30}{'p50 ms':>9}{'p99 ms':>9}{'p50/base':>10}{'req/s @8':>10}{'p50 ms @8':>11}")
        base_p50 = None
        for name, path, headers, *fewer in cases:
            times = fewer[0] if fewer else requests
            await _refill(dsn)
            await burst(client, path, headers, min(30, times), concurrency=1)  # warm-up
            _, sequential = await burst(client, path, headers, times // 2, concurrency=1)
            await _refill(dsn)
            rps, concurrent = await burst(client, path, headers, times)
            p50 = pct(sequential, 0.5)
            base_p50 = base_p50 or p50
            print(f"{name:<30}{p50:>9.2f}{pct(sequential, 0.99):>9.2f}{p50 / base_p50:>9.1f}x{rps:>10.0f}{pct(concurrent, 0.5):>11.2f}")

        for label, query in (("CSV, every lead", "format=csv"), ("XLSX, status=WON", "format=xlsx&status=WON")):
            await _refill(dsn)
            with PeakRSS(server_pid) as rss:
                started = time.perf_counter()
                rows = size = 0
                async with client.stream("GET", f"/v2/export/leads?{query}", headers=api) as response:
                    response.raise_for_status()
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        rows += chunk.count(b"\n") if "csv" in query else 0
                seconds = time.perf_counter() - started
            if "xlsx" in query:
                conn = await asyncpg.connect(dsn)
                rows = int(await conn.fetchval("SELECT live FROM lead_counter WHERE status = 'WON' AND tenant_id = 1"))
                await conn.close()
            else:
                rows -= 1
            growth = (rss.peak - rss.start) / 1e6
            print(f"{label:<30}{rows:>10,} rows {rows / seconds:>10,.0f} rows/s  {size / 1e6:>7.1f} MB  peak RSS +{growth:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--noise-tenants", type=int, default=4)
    parser.add_argument("--requests", type=int, default=400)
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
        for n in range(args.noise_tenants):
            subprocess.run(
                [*cli, "createadmin", "--email", f"noise{n}@bench.example.com", "--tenant", f"Noise {n}", "--password", PASSWORD],
                env=env,
                check=True,
            )
        seconds = asyncio.run(generate(dsn, 1, args.leads, 971_500_000_000))
        for n in range(args.noise_tenants):
            seconds += asyncio.run(generate(dsn, n + 2, 50_000, 972_000_000_000 + n * 1_000_000))
        print(f"dataset: {args.leads:,} leads + {args.noise_tenants} x 50,000 noise in {seconds:.0f}s\n")
        port = free_port()
        with serving(env, port) as server:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(measure(base, dsn, server.pid, args.requests))


if __name__ == "__main__":
    main()
