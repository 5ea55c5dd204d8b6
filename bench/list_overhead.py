"""What Atrium's plumbing costs on an authenticated list, against a bare endpoint measured in the same run.

    uv run python -m bench.list_overhead [--leads 100000] [--seconds 10] [--connections 8] [--rounds 3]

Builds an embedded PostgreSQL with one tenant of `--leads` leads, then serves, one at a time on
the same database and the same single process:

* bare:   bench/bare_list.py under uvicorn: asyncpg + msgspec, the same page query and exact
          total in a tenant transaction, no authentication (the floor)
* atrium: `GET /v2/leads?status=QUALIFIED&limit=50` through `atrium serve --no-worker` with an
          API key (credential, rate limit, tenant transaction, ETag, envelope)

Both servers run side by side and the cases alternate for `--rounds` rounds (best round kept).
Load comes from wrk (Debian's `wrk`; keep-alive, `--connections` open) when installed, else from
an httpx client; every run prints requests/s, p50 and the ratio atrium / bare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, DatabaseUrls, migrate, start_embedded_postgres, with_user
from bench.common import burst, free_port, pct, serving
from bench.leads_dataset import generate

PASSWORD = "bench-password"
EMAIL = "bench-list@bench.example.com"
PATH = "/v2/leads?status=QUALIFIED&limit=50"


@contextlib.contextmanager
def bare_server(dsn: str, port: int) -> Iterator[None]:
    """bench.bare_list under uvicorn (one process, no access log) until the block ends."""
    env = {**os.environ, "BARE_DSN": dsn}
    command = [sys.executable, "-m", "uvicorn", "bench.bare_list:app", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("bare server did not start")
            time.sleep(0.2)
        yield
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def load(url: str, headers: dict[str, str], seconds: int, connections: int) -> tuple[float, float]:
    """(requests/s, p50 ms) of keep-alive GETs for `seconds` with `connections` open."""
    if shutil.which("wrk"):
        flags = [f"-H{k}: {v}" for k, v in headers.items()]
        subprocess.run(["wrk", "-t1", f"-c{connections}", "-d2s", *flags, url], check=True, capture_output=True)  # warm-up
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *flags, url], check=True, capture_output=True, text=True
        ).stdout
        if "Non-2xx" in out:
            raise SystemExit(f"non-2xx answers from {url}:\n{out}")
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        p50_raw = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
        assert p50_raw
        p50 = float(p50_raw.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50_raw.group(2)]
        return rps, p50

    async def run() -> tuple[float, float]:
        async with httpx.AsyncClient(base_url=url.split("/v2")[0].rstrip("/"), timeout=30) as client:
            path = url[url.index("/", 8) :]
            await burst(client, path, headers, 100, connections)
            rps, latencies = await burst(client, path, headers, seconds * 100, connections)
            return rps, pct(latencies, 0.5)

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atrium-bench-") as tmp:
        dsn = start_embedded_postgres(Path(tmp))
        urls = DatabaseUrls(app=with_user(dsn, LOGIN_ROLE), owner=dsn, system=with_user(dsn, SYSTEM_LOGIN))
        asyncio.run(migrate(urls))
        # The benchmark measures the app, not the limiter: a high enterprise limit keeps every answer a 200.
        env = {
            **os.environ,
            "DATABASE_URL": urls.app,
            "DATABASE_OWNER_URL": dsn,
            "DATABASE_SYSTEM_URL": urls.system,
            "SECRET_KEY": "bench-secret-0123456789abcdefghijklmnop",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMITS": "enterprise=10000000",
        }
        admin = ["createadmin", "--email", EMAIL, "--tenant", "Bench", "--password", PASSWORD, "--plan", "enterprise"]
        subprocess.run([sys.executable, "-m", "app.cli", *admin], env=env, check=True, stdout=subprocess.DEVNULL)
        seconds = asyncio.run(generate(dsn, 1, args.leads, 971_500_000_000))
        print(
            f"dataset: {args.leads:,} leads in {seconds:.0f}s; load: {'wrk' if shutil.which('wrk') else 'httpx'}, "
            f"{args.connections} connections, {args.seconds}s per case, {os.cpu_count()} cores shared by client, server and database\n"
        )
        # Both servers run side by side; the cases alternate and each keeps its best round, so a
        # noisy neighbour or autovacuum hurts neither side alone.
        rounds: dict[str, list[tuple[float, float]]] = {"bare (asyncpg + msgspec)": [], "atrium GET /v2/leads": []}
        bare_port, atrium_port = free_port(), free_port()
        with bare_server(dsn, bare_port), serving(env, atrium_port):
            base = f"http://127.0.0.1:{atrium_port}"
            token = httpx.post(f"{base}/v2/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()["token"]
            key = httpx.post(f"{base}/v2/api-keys", headers={"Authorization": f"Bearer {token}"}, json={"name": "bench"}).json()["key"]
            for _ in range(args.rounds):
                rounds["bare (asyncpg + msgspec)"].append(
                    load(f"http://127.0.0.1:{bare_port}/v2/leads", {}, args.seconds, args.connections)
                )
                rounds["atrium GET /v2/leads"].append(load(f"{base}{PATH}", {"X-API-Key": key}, args.seconds, args.connections))
        results = {name: max(runs) for name, runs in rounds.items()}
        bare_rps = results["bare (asyncpg + msgspec)"][0]
        print(f"best of {args.rounds} alternating rounds")
        print(f"{'case':<28}{'req/s':>10}{'p50 ms':>10}{'req/s / bare':>15}")
        for name, (rps, p50) in results.items():
            print(f"{name:<28}{rps:>10.0f}{p50:>10.2f}{rps / bare_rps:>14.2f}x")


if __name__ == "__main__":
    main()
