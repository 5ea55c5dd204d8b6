"""What the /v2 plumbing costs per request, against a baseline measured in the same run.

Starts `atrium serve --no-worker` on a fresh embedded PostgreSQL (or DATABASE_URL), creates a
tenant and an API key, then drives bounded bursts of keep-alive requests over loopback:

* baseline: a static file (framework + uvicorn only)
* health:   GET /v2/health (two database round trips, no auth)
* me:       GET /v2/auth/me with a bearer JWT (token check, rate-limit bucket, tenant transaction, ETag)
* users:    GET /v2/users?limit=50 with X-API-Key (key lookup instead of the JWT check, a page query and a count)

Prints requests/s and p50/p99 latency per case and the ratio of each p50 to the baseline's.

    uv run python -m bench.api_overhead [--requests 800] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile

import httpx

from bench.common import burst, free_port, pct, serving

PASSWORD = "bench-password"


async def _login(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post("/v2/auth/login", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    return str(response.json()["token"])


async def run(base: str, total: int, concurrency: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        # One enterprise tenant per authenticated case: each has its own allowance (a burst of 1000).
        me_token = await _login(client, "bench-me@bench.example.com")
        users_token = await _login(client, "bench-users@bench.example.com")
        created = await client.post("/v2/api-keys", headers={"Authorization": f"Bearer {users_token}"}, json={"name": "bench"})
        cases = [
            ("baseline", "/static/app.css", {}),
            ("health", "/v2/health", {}),
            ("me (JWT)", "/v2/auth/me", {"Authorization": f"Bearer {me_token}"}),
            ("users (key)", "/v2/users?limit=50", {"X-API-Key": created.json()["key"]}),
        ]
        print(f"{total} requests per case, {concurrency} concurrent, keep-alive, loopback, {os.cpu_count()} cores\n")
        print(f"{'case':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'p50 / baseline':>18}")
        baseline_p50 = None
        for name, path, headers in cases:
            await burst(client, path, headers, 100, concurrency)  # warm-up
            rps, latencies = await burst(client, path, headers, total, concurrency)
            p50 = pct(latencies, 0.50)
            baseline_p50 = baseline_p50 or p50
            print(f"{name:<14}{rps:>10.0f}{p50:>10.2f}{pct(latencies, 0.99):>10.2f}{p50 / baseline_p50:>17.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=800, help="per case; at most 900 (the key's burst less the warm-up)")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="atrium-bench-") as data_dir:
        env = {**os.environ, "ATRIUM_DATA_DIR": data_dir, "LOG_LEVEL": "WARNING"}
        for email in ("bench-me@bench.example.com", "bench-users@bench.example.com"):
            admin = ["createadmin", "--email", email, "--tenant", email, "--password", PASSWORD, "--plan", "enterprise"]
            subprocess.run([sys.executable, "-m", "app.cli", *admin], env=env, check=True, stdout=subprocess.DEVNULL)
        with serving(env, port):
            base = f"http://127.0.0.1:{port}"
            asyncio.run(run(base, args.requests, args.concurrency))


if __name__ == "__main__":
    main()
