"""Live updates: an SSE client on one web process receives events caused through another, and resumes after a gap."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
from httpx_sse import aconnect_sse

from tests.e2e.browser import free_port
from tests.factories import Tenants
from tests.helpers import atrium_command, output_of, process_env, spawn


@contextlib.contextmanager
def second_web_process(dsn: str) -> Iterator[str]:
    """`atrium serve --no-worker` on the same database, as a second web process of a deployment."""
    port = free_port()
    env = process_env(DATABASE_URL=dsn, SECRET_KEY="second-process-secret-0123456789abcdef", ATRIUM_PORT=str(port))
    proc = spawn(atrium_command("serve", "--no-worker"), env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"atrium serve exited:\n{output_of(proc)}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/v2/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the second web process did not start"
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def events_of(base: str, token: str, seen: list[tuple[str, str, dict[str, object]]], last_id: str | None = None) -> None:
    headers = {"Last-Event-ID": last_id} if last_id else {}
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as http,
        aconnect_sse(http, "GET", f"{base}/v2/sse/stream", params={"token": token}, headers=headers) as source,
    ):
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        async for sse in source.aiter_sse():
            if sse.event and sse.data:
                seen.append((sse.id, sse.event, json.loads(sse.data)))


@contextlib.asynccontextmanager
async def listening(base: str, token: str, last_id: str | None = None) -> AsyncIterator[list[tuple[str, str, dict[str, object]]]]:
    seen: list[tuple[str, str, dict[str, object]]] = []
    task = asyncio.create_task(events_of(base, token, seen, last_id))
    await asyncio.sleep(0.5)  # connected and subscribed
    try:
        yield seen
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(seen: list[tuple[str, str, dict[str, object]]], count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        assert time.monotonic() < deadline, f"only {len(seen)} of {count} events arrived: {seen}"
        await asyncio.sleep(0.05)


async def test_a_stream_on_one_process_receives_changes_made_through_another(
    client: httpx.AsyncClient, tenants: Tenants, migrated: str, db: asyncpg.Connection
) -> None:
    admin, other = await tenants.create(), await tenants.create()
    _, key = await tenants.api_key(admin, "read")
    with second_web_process(migrated) as base:
        remote = httpx.AsyncClient(base_url=base, timeout=10)
        minted = await remote.post("/v2/sse/token", headers={"X-API-Key": key})
        assert minted.status_code == 200, minted.text
        token = minted.json()
        assert token["expires_in"] > 0 and token["stream_url"].endswith(token["sse_token"])
        async with listening(base, token["sse_token"]) as seen:
            await client.post("/v2/contacts", headers=other.auth, json={"name": "Another tenant's"})
            created = (await client.post("/v2/contacts", headers=admin.auth, json={"name": "Live Lina"})).json()
            await until(seen, 1)
            event_id, event, data = seen[0]
            assert event == "contact.created" and data["contact_id"] == created["id"] and data["name"] == "Live Lina"
            await asyncio.sleep(0.3)
            assert all(d.get("name") != "Another tenant's" for _, _, d in seen), "never another tenant's events"
        # Missed while disconnected: resumed from the outbox with Last-Event-ID.
        await client.patch(f"/v2/contacts/{created['id']}", headers=admin.auth, json={"title": "Director"})
        async with listening(base, token["sse_token"], last_id=event_id) as resumed:
            await until(resumed, 1)
            assert resumed[0][1] == "contact.updated" and resumed[0][2]["title"] == "Director"
        refused = await remote.get("/v2/sse/stream", params={"token": "forged"})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "AUTHENTICATION_ERROR"
        assert (await remote.post("/v2/sse/token")).status_code == 401
        key_id = int(await db.fetchval("SELECT id FROM api_key WHERE tenant_id = $1", admin.tenant_id))
        await client.delete(f"/v2/api-keys/{key_id}", headers=admin.auth)
        revoked = await remote.get("/v2/sse/stream", params={"token": token["sse_token"]})
        assert revoked.status_code == 401, "a revoked key's token opens nothing"
        await remote.aclose()


async def test_a_stream_carries_only_what_its_key_may_read(client: httpx.AsyncClient, tenants: Tenants, migrated: str) -> None:
    admin = await tenants.create()
    made = await client.post(
        "/v2/api-keys", headers=admin.auth, json={"name": "leads only", "permission": "read", "resources": ["leads", "events"]}
    )
    assert made.status_code == 201, made.text
    with second_web_process(migrated) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as remote:
            token = await remote.post("/v2/sse/token", headers={"X-API-Key": made.json()["key"]})
        assert token.status_code == 200, token.text
        async with listening(base, token.json()["sse_token"]) as seen:
            assert (await client.post("/v2/contacts", headers=admin.auth, json={"name": "Hidden Contact"})).status_code == 201
            assert (await client.post("/v2/leads", headers=admin.auth, json={"name": "Shown Lead"})).status_code == 201
            await until(seen, 1)
            await asyncio.sleep(1.5)  # time for anything else to arrive
        kinds = {event for _, event, _ in seen}
        assert "lead.created" in kinds, seen
        assert not any(kind.startswith("contact.") for kind in kinds), "a leads-only key never sees contacts' events"


async def test_a_role_that_may_not_see_tickets_streams_none_of_their_events(
    client: httpx.AsyncClient, tenants: Tenants, migrated: str
) -> None:
    admin = await tenants.create()
    finance = await tenants.add_user(admin, "finance")
    with second_web_process(migrated) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as remote:
            login = await remote.post("/v2/auth/login", json={"email": finance.email, "password": finance.password})
            assert login.status_code == 200, login.text
            token = await remote.post("/v2/sse/token", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
        assert token.status_code == 200, token.text
        async with listening(base, token.json()["sse_token"]) as seen:
            ticket = await client.post(
                "/v2/support/tickets",
                headers=admin.auth,
                json={"title": "Leaking tap", "description": "Water everywhere", "customer_email": "cust@example.com"},
            )
            assert ticket.status_code == 201, ticket.text
            assert (await client.post("/v2/leads", headers=admin.auth, json={"name": "Seen Lead"})).status_code == 201
            await until(seen, 1)
            await asyncio.sleep(1.5)  # time for anything else to arrive
        kinds = {event for _, event, _ in seen}
        assert "lead.created" in kinds, seen
        assert not any(kind.startswith("ticket.") for kind in kinds), "finance sees no ticket, not even live"
