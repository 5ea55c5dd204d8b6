"""Events → webhook deliveries to a loopback receiver, against a plain HTTP client posting to it, in one run.

    uv run python -m bench.webhooks [--events 5000] [--tenants 20] [--concurrency 50]

Builds an embedded PostgreSQL, `--tenants` tenants each with one endpoint on a loopback receiver
(bench/receiver.py under uvicorn), and a standalone `atrium worker`. Then:

* baseline: the same number of signed POSTs straight from one httpx client (`--concurrency` at once):
            what the receiver and the loopback can take, with no database and no queue;
* atrium:   `--events` outbox events written in one transaction (spread over the tenants and 1,000
            leads each), relayed, queued and delivered by the worker.

Prints deliveries/s of the burst, how many were lost or arrived twice, and the event-to-delivery
latency p50/p99 (the event's commit to its arrival) of a steady phase at `--rate` events a second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, DatabaseUrls, migrate, start_embedded_postgres, with_user
from app.outbound import signing
from bench.common import free_port, pct

SECRET = "whsec_" + "QmVuY2htYXJrU2VjcmV0S2V5MDEyMzQ1Njc4OWFiYw=="


# `$1` events spread over the tenants `$2` and 1,000 leads each, committed together.
INSERT_EVENTS = """
INSERT INTO outbox_event (tenant_id, event_type, subject_type, subject_id, data, occurred_at)
SELECT t.ids[1 + g % array_length(t.ids, 1)], 'lead.updated', 'lead', (g * 7919) % 1000,
       json_build_object('lead_id', (g * 7919) % 1000, 'name', 'Lead ' || g), clock_timestamp()
  FROM generate_series(1, $1) g, (SELECT $2::bigint[] AS ids) t
"""


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


async def wait_for(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                await http.post(url, content=b"{}")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not start")


async def baseline(url: str, total: int, concurrency: int) -> float:
    """Signed POSTs straight to the receiver: deliveries/s with nothing in between."""
    body = b'{"event":"lead.updated","timestamp":"2026-12-01T00:00:00Z","tenant_id":1,"data":{"lead_id":1}}'
    headers = signing.headers(event_type="lead.updated", delivery_key="evt_baseline", body=body, timestamp=int(time.time()), secret=SECRET)
    remaining = total

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            response = await http.post(url, content=body, headers=headers)
            assert response.status_code == 200

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        return total / (time.perf_counter() - started)


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="atrium-bench-webhooks-"))
    dsn = start_embedded_postgres(workdir)
    urls = DatabaseUrls(app=with_user(dsn, LOGIN_ROLE), owner=dsn, system=with_user(dsn, SYSTEM_LOGIN))
    await migrate(urls)
    received = workdir / "received.tsv"
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    env = {**os.environ, "BENCH_RECEIVED": str(received)}
    uvicorn = [sys.executable, "-m", "uvicorn", "bench.receiver:app", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    receiver = start(uvicorn, env)
    worker: subprocess.Popen[bytes] | None = None
    conn = await asyncpg.connect(dsn)
    try:
        await wait_for(url)
        base_rate = await baseline(url, args.events, args.concurrency)
        received.write_text("")
        tenants = []
        for n in range(args.tenants):
            tenant_id = await conn.fetchval(
                "INSERT INTO tenant (name, slug, plan, created_at) VALUES ($1, $1, 'enterprise', now()) RETURNING id", f"bench-{n}"
            )
            await conn.execute(
                "INSERT INTO webhook_endpoint (tenant_id, url, events, secret_key) VALUES ($1, $2, ARRAY['*'], $3)", tenant_id, url, SECRET
            )
            await conn.execute("INSERT INTO webhook_slot (tenant_id, slot) SELECT $1, s FROM generate_series(0, 9) s", tenant_id)
            tenants.append(tenant_id)
        worker_env = {
            **os.environ,
            "DATABASE_URL": urls.app,
            "DATABASE_OWNER_URL": dsn,
            "DATABASE_SYSTEM_URL": urls.system,
            "SECRET_KEY": "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz",
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
            "LOG_LEVEL": "WARNING",
        }
        worker = start([sys.executable, "-m", "app.cli", "worker", "--concurrency", str(args.concurrency)], worker_env)
        await asyncio.sleep(3)  # the worker is up and listening
        started = time.time()
        await conn.execute(INSERT_EVENTS, args.events, tenants)
        committed = time.time()
        deadline = time.time() + 600
        while await conn.fetchval("SELECT count(*) FROM webhook_delivery WHERE status <> 'delivered'") or not await conn.fetchval(
            "SELECT count(*) FROM webhook_delivery"
        ):
            if time.time() > deadline:
                raise SystemExit("deliveries did not finish in 10 minutes")
            await asyncio.sleep(0.2)
        burst_rows = [line.split("\t") for line in received.read_text().splitlines() if line]
        keys = {r["delivery_key"] for r in await conn.fetch("SELECT delivery_key FROM webhook_delivery")}
        # Steady: --rate events a second for 10 s, in tenths of a second; latency is arrival - the event's commit.
        received.write_text("")
        per_tick = max(1, args.rate // 10)
        started_steady = time.time()
        for tick in range(100):
            await conn.execute(INSERT_EVENTS, per_tick, tenants)
            await asyncio.sleep(max(0.0, started_steady + (tick + 1) / 10 - time.time()))
        while await conn.fetchval("SELECT count(*) FROM webhook_delivery WHERE status <> 'delivered'"):  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.2)
        committed_at = {
            r["delivery_key"]: r["at"]
            for r in await conn.fetch(
                "SELECT d.delivery_key, extract(epoch FROM o.occurred_at)::float8 AS at "
                "FROM webhook_delivery d JOIN outbox_event o ON o.id = d.event_id"
            )
        }
        steady = [(float(at) - committed_at[key]) for key, at in (line.split("\t") for line in received.read_text().splitlines() if line)]
        rows = burst_rows
        arrivals: dict[str, float] = {}
        duplicates = 0
        for key, at in rows:
            if key in arrivals:
                duplicates += 1
            else:
                arrivals[key] = float(at)
        lost = len(keys - set(arrivals))
        last = max(arrivals.values())
        latencies = [(at - committed) for at in arrivals.values()]
        rate = len(arrivals) / (last - started)
        print(f"events {args.events} over {args.tenants} tenants, worker concurrency {args.concurrency}")
        print(f"baseline  (httpx → receiver)      {base_rate:8.0f} deliveries/s")
        print(f"atrium    (outbox → worker → HTTP) {rate:8.0f} deliveries/s   ratio {rate / base_rate:.2f}")
        print(f"event-to-delivery latency          p50 {pct(latencies, 0.5) / 1000:.2f} s   p99 {pct(latencies, 0.99) / 1000:.2f} s")
        print(f"delivered {len(arrivals)} of {len(keys)}   lost {lost}   duplicates {duplicates}")
        print(
            f"steady {per_tick * 10}/s for 10 s: {len(steady)} delivered, latency p50 {pct(steady, 0.5) / 1000:.2f} s"
            f"   p99 {pct(steady, 0.99) / 1000:.2f} s"
        )
    finally:
        await conn.close()
        if worker is not None:
            stop(worker)
        stop(receiver)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rate", type=int, default=200, help="events a second in the steady phase")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
