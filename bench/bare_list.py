"""The floor for `GET /v2/leads`: a bare ASGI endpoint with asyncpg and msgspec, no framework.

It runs the same page query and reads the same exact total as Atrium's list (status filter,
newest first, 50 rows), in a transaction scoped to the tenant like Atrium's, and writes the same
JSON shape. No authentication, rate limit, idempotency or ETag: this is what the database and the
encoder alone cost. Served by uvicorn: `BARE_DSN=… uvicorn bench.bare_list:app`.
"""

from __future__ import annotations

import os
from typing import Any

import asyncpg
import msgspec

from app.leads.schemas import LeadSummary  # the same struct, so both sides encode the same JSON

COLUMNS = (
    "id, name, phone, email, status, budget_min, budget_max, budget_currency, property_type, transaction_type, purpose, "
    "preferred_location, language, source, hotness_score, temperature, agent_id, created_at, last_interaction"
)
PAGE = f"""SELECT {COLUMNS} FROM lead WHERE tenant_id = $1 AND deleted_at IS NULL AND status = ANY($2::text[])
           ORDER BY created_at DESC, id DESC LIMIT 50"""
TOTAL = "SELECT coalesce(sum(live), 0) AS n FROM lead_counter WHERE tenant_id = $1 AND status = ANY($2::text[])"


class Page(msgspec.Struct):
    total: int
    limit: int
    offset: int
    data: list[LeadSummary]


ENCODER = msgspec.json.Encoder(decimal_format="number")
pool: asyncpg.Pool | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                pool = await asyncpg.create_pool(os.environ["BARE_DSN"], min_size=10, max_size=10)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                assert pool is not None
                await pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert pool is not None
    tenant_id, statuses = 1, ["QUALIFIED"]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('role', 'atrium_app', true), set_config('app.tenant_id', '1', true)")
        rows = await conn.fetch(PAGE, tenant_id, statuses)
        total = await conn.fetchval(TOTAL, tenant_id, statuses)
    data = [LeadSummary(**dict(r), conversation_url=f"http://127.0.0.1/leads/{r['id']}") for r in rows]
    body = ENCODER.encode(Page(total=int(total), limit=50, offset=0, data=data))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
