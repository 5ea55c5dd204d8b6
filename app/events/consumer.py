"""Worker loops that consume the outbox: woken by the outbox trigger's NOTIFY on their own LISTEN connection (or every
2 s when it cannot listen, or misses one), each drains what is new in passes (the webhook relay, the automation runner)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from app.events.stream import CHANNEL

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0


class OutboxLoop:
    """Start it with the worker, stop it with the worker; `drain()` is one pass over what is new (a failing pass is
    logged and retried a second later)."""

    name = "outbox loop"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.connection: asyncpg.Connection | None = None

    async def drain(self) -> None:
        """One pass: handle what is new (override)."""
        raise NotImplementedError

    async def start(self) -> None:
        """Listen and start the loop."""
        try:
            self.connection = await asyncpg.connect(self.dsn)
            await self.connection.add_listener(CHANNEL, lambda *_: self.wake.set())
        except (OSError, asyncpg.PostgresError):
            log.warning("the %s could not LISTEN; it polls every %s s instead", self.name, POLL_SECONDS, exc_info=True)
        self.task = asyncio.create_task(self._run(), name=f"atrium-{self.name.replace(' ', '-')}")

    async def stop(self) -> None:
        """Stop the loop and close the listening connection."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.connection is not None:
            await self.connection.close()

    async def _run(self) -> None:
        while True:
            try:
                self.wake.clear()
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s pass failed; retrying", self.name)
                await asyncio.sleep(1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=POLL_SECONDS)
