"""Live updates at scale: `--clients` SSE streams on one `atrium serve` process, and how soon an event reaches
all of them, against the same event seen by a bare LISTEN connection in the same run.

    uv run python -m bench.sse [--clients 1000] [--events 10]

Builds an embedded PostgreSQL and one tenant, starts `atrium serve --no-worker`, opens `--clients`
streams (`GET /v2/sse/stream?token=`, keep-alive HTTP/1.1 on raw sockets), then commits `--events`
outbox events a second apart. For each event it prints when the bare listener got the NOTIFY and
when the slowest stream got the event; at the end p50/p99 over every (event, stream) pair.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from pathlib import Path

import asyncpg

from app.db import LOGIN_ROLE, SYSTEM_LOGIN, DatabaseUrls, migrate, start_embedded_postgres, with_user
from app.events.stream import issue_token
from bench.common import free_port, pct, serving

SECRET = "bench-sse-secret-0123456789abcdefghijklmnopqrstuv"


async def stream(port: int, token: str, arrivals: dict[int, float], ready: asyncio.Event, counter: list[int], total: int) -> None:
    """One client: an HTTP/1.1 GET held open; notes when each event id arrives."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(f"GET /v2/sse/stream?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    counted = False
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b": connected") and not counted:
                counted = True
                counter[0] += 1
                if counter[0] == total:
                    ready.set()
            elif line.startswith(b"id: "):
                arrivals.setdefault(int(line[4:].strip()), time.time())
    finally:
        writer.close()


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="atrium-bench-sse-"))
    dsn = start_embedded_postgres(workdir)
    urls = DatabaseUrls(app=with_user(dsn, LOGIN_ROLE), owner=dsn, system=with_user(dsn, SYSTEM_LOGIN))
    await migrate(urls)
    conn = await asyncpg.connect(dsn)
    tenant_id = await conn.fetchval(
        "INSERT INTO tenant (name, slug, plan, created_at) VALUES ('sse', 'sse', 'enterprise', now()) RETURNING id"
    )
    port = free_port()
    # 1,000 streams from one address in seconds: above any plan's per-minute limit, so limits are off for the run.
    env = {
        **os.environ,
        "DATABASE_URL": urls.app,
        "DATABASE_OWNER_URL": dsn,
        "DATABASE_SYSTEM_URL": urls.system,
        "SECRET_KEY": SECRET,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMITS": "off",
    }
    bare: dict[int, float] = {}
    listener = await asyncpg.connect(dsn)
    await listener.add_listener("atrium_events", lambda *a: bare.setdefault(int(a[3].partition(":")[0]), time.time()))
    with serving(env, port):
        token, _ = issue_token(SECRET, tenant_id, None, "bench")
        ready = asyncio.Event()
        counter = [0]
        per_client: list[dict[int, float]] = [{} for _ in range(args.clients)]
        opened = time.time()
        tasks = []
        for n, arrivals in enumerate(per_client):
            tasks.append(asyncio.create_task(stream(port, token, arrivals, ready, counter, args.clients)))
            if n % 100 == 99:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(ready.wait(), timeout=120)
        print(f"{args.clients} streams open in {time.time() - opened:.1f} s")
        committed: dict[int, float] = {}
        for _ in range(args.events):
            event_id = await conn.fetchval(
                "INSERT INTO outbox_event (tenant_id, event_type, subject_type, subject_id, data) "
                "VALUES ($1, 'lead.updated', 'lead', 1, '{\"lead_id\": 1}') RETURNING id",
                tenant_id,
            )
            committed[event_id] = time.time()
            await asyncio.sleep(1)
        await asyncio.sleep(2)
        latencies, bare_latencies, missing = [], [], 0
        for event_id, at in committed.items():
            got = [arrivals.get(event_id) for arrivals in per_client]
            missing += sum(1 for g in got if g is None)
            times = [g - at for g in got if g is not None]
            latencies += times
            bare_latencies.append(bare.get(event_id, float("nan")) - at)
            slowest = max(times) * 1000 if times else float("nan")
            print(f"event {event_id}: bare LISTEN {bare_latencies[-1] * 1000:6.1f} ms   last of {len(times)} streams {slowest:7.1f} ms")
        print(f"bare LISTEN        p50 {pct(bare_latencies, 0.5):7.1f} ms   p99 {pct(bare_latencies, 0.99):7.1f} ms")
        print(f"{args.clients} SSE streams   p50 {pct(latencies, 0.5):7.1f} ms   p99 {pct(latencies, 0.99):7.1f} ms   missed {missing}")
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
    await listener.close()
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
