"""Pieces every benchmark uses: a free port, bounded bursts of requests, percentiles."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx


def free_port() -> int:
    """A TCP port on loopback nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def burst(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], total: int, concurrency: int = 8
) -> tuple[float, list[float]]:
    """Send `total` GETs with `concurrency` workers; returns (requests per second, latencies in seconds)."""
    latencies: list[float] = []
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
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
