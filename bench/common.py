"""Pieces every benchmark uses: a free port, bounded bursts of requests, percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx


def free_port() -> int:
    """A TCP port on loopback nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def burst(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], total: int, concurrency: int = 8, *, body: Any = None
) -> tuple[float, list[float]]:
    """Send `total` GETs (POSTs of `body` as JSON when given) with `concurrency` workers; returns (requests per
    second, latencies in seconds)."""
    latencies: list[float] = []
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            if body is None:
                response = await client.get(path, headers=headers)
            else:
                response = await client.post(path, headers=headers, json=body)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code} {response.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - started), latencies


def pct(values: list[float], q: float) -> float:
    """The q-quantile of latencies, in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@contextlib.contextmanager
def serving(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`atrium serve --no-worker` on `port` until the block ends; waits (60 s at most) until /v2/health answers."""
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--no-worker", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/v2/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        yield server
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
