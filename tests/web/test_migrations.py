"""Migrations as `atrium serve` runs them: the search views follow their tables without blocking a start."""

from __future__ import annotations

import asyncpg

from app.db import DatabaseUrls, migrate


async def test_a_start_leaves_current_views_alone_and_rebuilds_stale_ones(
    migrated: str, urls: DatabaseUrls, db: asyncpg.Connection
) -> None:
    oid = await db.fetchval("SELECT 'lead_search'::regclass::oid")
    await migrate(urls)  # nothing pending, nothing changed: the view is the same object
    assert await db.fetchval("SELECT 'lead_search'::regclass::oid") == oid
    await db.execute("DROP VIEW company_search")
    await db.execute("CREATE VIEW company_search AS SELECT id, tenant_id FROM company WHERE false")  # a stale shape
    await db.execute("DROP VIEW contact_search")
    await db.execute("CREATE VIEW contact_search AS SELECT * FROM contact")  # the right columns, but no barrier
    await db.execute("CREATE VIEW lead_scoped AS SELECT * FROM lead")  # what an earlier version read
    await migrate(urls)
    for table in ("company", "contact"):
        columns = await db.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position", f"{table}_search"
        )
        expected = await db.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position", table
        )
        assert [c["column_name"] for c in columns] == [c["column_name"] for c in expected]
        options = await db.fetchval("SELECT reloptions FROM pg_class WHERE relname = $1", f"{table}_search")
        assert "security_barrier=true" in options
    assert await db.fetchval("SELECT to_regclass('lead_scoped')") is None
