"""Shutdown always finishes, even while a task still holds a database connection."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from app.db import close_pool_within


async def test_closing_the_pool_does_not_wait_forever_for_a_borrowed_connection(migrated: str) -> None:
    pool = await asyncpg.create_pool(migrated, min_size=1, max_size=2)
    await pool.acquire()  # a stuck job or an open stream that never gives its connection back
    started = time.monotonic()
    await asyncio.wait_for(close_pool_within(pool, 0.5), 10)
    assert time.monotonic() - started < 5
    assert pool.is_closing()  # and the borrowed connection was terminated, not waited for
