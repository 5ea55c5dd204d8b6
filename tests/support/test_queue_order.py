"""The queue by due time over several statuses and priorities is merged from one index range per status and priority
(docs/performance.md): the same tickets in the same order, page after page, as the plain query gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from tests.factories import Tenants
from tests.support.test_tickets_api import open_ticket


async def test_the_merged_due_order_is_the_plain_order(client: httpx.AsyncClient, tenants: Tenants, db: asyncpg.Connection) -> None:
    admin = await tenants.create(plan="enterprise")
    agent = await tenants.add_user(admin, "agent")
    rng = random.Random(14)
    start = datetime(2026, 12, 7, 9, tzinfo=UTC)
    ids = [(await open_ticket(client, admin, title=f"T{n}", assigned_to=agent.user_id if n % 7 == 0 else None))["id"] for n in range(24)]
    for n, ticket_id in enumerate(ids):
        due = None if n % 9 == 0 else start + timedelta(minutes=rng.choice([0, 30, 30, 60, 90, 120]))  # ties and paused clocks
        await db.execute(
            "UPDATE ticket SET status = $2, priority = $3, next_due_at = $4 WHERE id = $1",
            ticket_id,
            ["open", "in_progress", "waiting", "resolved"][n % 4],
            ["low", "medium", "high", "urgent", "critical"][n % 5],
            due,
        )
    rows = await db.fetch("SELECT id, status, priority, next_due_at FROM ticket WHERE id = ANY($1::bigint[])", ids)

    async def listed(query: str, who: dict[str, str] = admin.auth) -> list[int]:
        found: list[int] = []
        for offset in range(0, 30, 5):
            page = await client.get(f"/v2/support/tickets?{query}&limit=5&offset={offset}", headers=who)
            assert page.status_code == 200, page.text
            found += [t["id"] for t in page.json()["data"]]
        return found

    def expected(statuses: set[str], priorities: set[str], descending: bool = False) -> list[int]:
        chosen = [r for r in rows if r["status"] in statuses and r["priority"] in priorities]
        late = datetime.max.replace(tzinfo=UTC)
        key = [((r["next_due_at"] or late), r["id"]) for r in chosen]  # nulls last ascending, first descending
        return [i for _, i in sorted(key, reverse=descending)]

    every = {"low", "medium", "high", "urgent", "critical"}
    assert await listed("sort=due&status=open,in_progress&priority=high,low") == expected({"open", "in_progress"}, {"high", "low"})
    assert await listed("sort=due&priority=urgent") == expected({"open", "in_progress", "waiting", "resolved", "closed"}, {"urgent"})
    assert await listed("sort=-due&status=open,waiting") == expected({"open", "waiting"}, every, descending=True)
    # With another filter the plain query answers; the same rule.
    mine = [r["id"] for r in rows if r["id"] in ids[::7]]
    assert set(await listed(f"sort=due&status=open,in_progress,waiting,resolved&assigned_to={agent.user_id}")) == set(mine)
