"""Live updates: committed outbox events fanned out to the SSE streams of this process.

Every web process holds one LISTEN connection on `atrium_events` (the outbox trigger notifies at
commit, in commit order, from whichever process made the change). A notification carries the
event's id and tenant; the broker reads the events of a burst in one query and hands each to the
streams of that tenant. A stream that cannot keep up (1,000 events queued) is closed; its client
reconnects with `Last-Event-ID` and resumes from the outbox.

Litestar Channels' PostgreSQL backends were not used: publishing through them has an open
upstream issue, and this is the same LISTEN/NOTIFY behind a smaller interface.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import jwt

from app.db import TenantScope, fetch, system_transaction, tenant_transaction
from app.piccolo_conf import DB

log = logging.getLogger(__name__)
CHANNEL = "atrium_events"
QUEUE_LIMIT = 1000
TOKEN_TTL = 900


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One outbox event as the stream sends it."""

    id: int
    tenant_id: int
    type: str
    subject_type: str
    subject_id: int | None
    data: str  # the event's `data`, JSON text
    occurred_at: datetime


_COLUMNS = "id, tenant_id, event_type, subject_type, subject_id, data::text AS data, occurred_at"


def _event(row: dict[str, Any]) -> LiveEvent:
    return LiveEvent(
        row["id"], row["tenant_id"], row["event_type"], row["subject_type"], row["subject_id"], row["data"], row["occurred_at"]
    )


class Closed(Exception):
    """The subscriber fell too far behind and was dropped."""


class Broker:
    """This process's fan-out: one LISTEN connection, one queue per open stream."""

    def __init__(self) -> None:
        self.subscribers: dict[int, set[asyncio.Queue[LiveEvent | None]]] = {}
        self.pending: list[int] = []
        self.connection: asyncpg.Connection | None = None
        self.flushing: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()

    async def _ensure(self) -> None:
        async with self.lock:
            if self.connection is None or self.connection.is_closed():
                self.connection = await asyncpg.connect(DB.config["dsn"])
                await self.connection.add_listener(CHANNEL, self._notified)
                self.connection.add_termination_listener(self._lost)

    def _lost(self, _conn: object) -> None:
        """The LISTEN connection died (a database restart): end every stream, so its client reconnects with
        Last-Event-ID and the next subscribe listens again; nothing is missed, the outbox keeps it."""
        self.connection = None
        for queues in self.subscribers.values():
            for queue in queues:
                queue.put_nowait(None)
        self.subscribers.clear()

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        event_id, _, tenant = payload.partition(":")
        if tenant.isdigit() and int(tenant) in self.subscribers:
            self.pending.append(int(event_id))
            if self.flushing is None or self.flushing.done():
                self.flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(0.005)  # gather a burst into one read
        while self.pending:
            ids, self.pending = self.pending, []
            try:
                async with system_transaction():
                    rows = await fetch(f"SELECT {_COLUMNS} FROM outbox_event WHERE id = ANY($1::bigint[]) ORDER BY id", ids)
            except Exception:
                log.exception("could not read outbox events %s for the live streams", ids[:5])
                continue
            for row in rows:
                self.publish(_event(row))

    def publish(self, event: LiveEvent) -> None:
        """Hand an event to every stream of its tenant (a stream too far behind is closed)."""
        for queue in list(self.subscribers.get(event.tenant_id, ())):
            if queue.qsize() >= QUEUE_LIMIT:
                queue.put_nowait(None)  # the stream ends; its client resumes with Last-Event-ID
                self.subscribers[event.tenant_id].discard(queue)
            else:
                queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self, tenant_id: int) -> AsyncIterator[asyncio.Queue[LiveEvent | None]]:
        """A queue receiving the tenant's events from now on."""
        await self._ensure()
        queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(maxsize=QUEUE_LIMIT + 1)
        self.subscribers.setdefault(tenant_id, set()).add(queue)
        try:
            yield queue
        finally:
            streams = self.subscribers.get(tenant_id)
            if streams is not None:
                streams.discard(queue)
                if not streams:
                    self.subscribers.pop(tenant_id, None)

    async def close(self) -> None:
        """Stop listening (application shutdown)."""
        if self.connection is not None and not self.connection.is_closed():
            await self.connection.close()
        self.connection = None


BROKER = Broker()


async def since(tenant_id: int, last_id: int, limit: int = 1000) -> list[LiveEvent]:
    """The tenant's events after `last_id` still in the outbox (a week), oldest first."""
    async with tenant_transaction(tenant_id):
        rows = await fetch(
            f"SELECT {_COLUMNS} FROM outbox_event WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT {int(limit)}", tenant_id, last_id
        )
    return [_event(r) for r in rows]


async def latest_id(tenant_id: int) -> int:
    """The tenant's newest event id: a page rendered now streams from there, so nothing between render and connect is
    missed. Read it before the data the page shows: a change committed in between is then streamed (a redraw that
    changes nothing), where read after, it would be in neither (a progress bar stuck at "Working…")."""
    async with tenant_transaction(tenant_id):
        rows = await fetch("SELECT coalesce(max(id), 0) AS id FROM outbox_event WHERE tenant_id = $1", tenant_id)
    return int(rows[0]["id"])


def issue_token(
    secret_key: str, tenant_id: int, user_id: int | None, credential: str, readable: list[str] | None = None, role: str = ""
) -> tuple[str, int]:
    """A stream token bound to the tenant and the caller (and the caller's role, which domains' live visibility
    reads), and to the API resources its scopes may read (`readable`; None: all); returns (token, seconds valid)."""
    now = int(time.time())
    claims = {
        "typ": "sse",
        "tid": tenant_id,
        "uid": user_id,
        "rol": role,
        "cred": credential,
        "iat": now,
        "exp": now + TOKEN_TTL,
        "iss": "atrium",
    }
    if readable is not None:
        claims["res"] = sorted(readable)
    return jwt.encode(claims, secret_key, algorithm="HS256"), TOKEN_TTL


def _claims(secret_key: str, token: str) -> dict[str, Any] | None:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret_key, algorithms=["HS256"], issuer="atrium", options={"require": ["exp", "typ", "tid"]}
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "sse" or not isinstance(claims.get("tid"), int):
        return None
    return claims


def read_token(secret_key: str, token: str) -> tuple[int, str] | None:
    """(tenant id, credential) of a valid stream token, else None."""
    claims = _claims(secret_key, token)
    return None if claims is None else (claims["tid"], str(claims.get("cred") or ""))


def actor_of(secret_key: str, token: str) -> TenantScope | None:
    """Who a valid stream token was issued to (tenant, user, role), for the domains' live visibility."""
    claims = _claims(secret_key, token)
    if claims is None:
        return None
    uid = claims.get("uid")
    return TenantScope(tenant_id=claims["tid"], user_id=uid if isinstance(uid, int) else None, role=str(claims.get("rol") or ""))


def readable_of(secret_key: str, token: str) -> frozenset[str] | None:
    """The API resources a valid stream token's events may be about (None: every one)."""
    claims = _claims(secret_key, token)
    res = claims.get("res") if claims else None
    return frozenset(str(r) for r in res) if isinstance(res, list) else None


# Is the credential a stream was opened with still good? (a user deactivated, a key or client revoked)
_STILL_VALID = {
    "user": "SELECT 1 FROM app_user WHERE tenant_id = $1 AND id = $2 AND is_active",
    "session": "SELECT 1 FROM user_session s JOIN app_user u ON u.id = s.user_id "
    "WHERE s.tenant_id = $1 AND s.id = $2::bigint AND s.expires_at > now() AND u.is_active",
    "key": "SELECT 1 FROM api_key WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
}


async def still_valid(tenant_id: int, credential: str) -> bool:
    """Whether the credential behind a stream still holds (checked when it opens and every few minutes)."""
    kind, _, ident = credential.partition(":")
    sql = _STILL_VALID.get(kind)
    value: int | str = int(ident) if ident.isdigit() and len(ident) < 19 else credential
    if sql is None or isinstance(value, str):
        sql = "SELECT 1 FROM oauth_client WHERE tenant_id = $1 AND client_id = $2 AND revoked_at IS NULL"
    async with tenant_transaction(tenant_id):
        return bool(await fetch(sql, tenant_id, value))
