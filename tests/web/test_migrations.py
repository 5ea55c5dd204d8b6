"""Migrations as `atrium serve` runs them: the scoped views follow their tables without blocking a start."""

from __future__ import annotations

import asyncpg

from app.db import DatabaseUrls, migrate


async def test_a_start_leaves_current_views_alone_and_rebuilds_stale_ones(
    migrated: str, urls: DatabaseUrls, db: asyncpg.Connection
) -> None:
    oid = await db.fetchval("SELECT 'lead_scoped'::regclass::oid")
    await migrate(urls)  # nothing pending, nothing changed: the view is the same object
    assert await db.fetchval("SELECT 'lead_scoped'::regclass::oid") == oid
    await db.execute("DROP VIEW company_scoped")
    await db.execute("CREATE VIEW company_scoped AS SELECT id, tenant_id FROM company WHERE false")  # a stale shape
    await migrate(urls)
    columns = await db.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'company_scoped' ORDER BY ordinal_position"
    )
    table = await db.fetch("SELECT column_name FROM information_schema.columns WHERE table_name = 'company' ORDER BY ordinal_position")
    assert [c["column_name"] for c in columns] == [c["column_name"] for c in table]
    assert await db.fetchval("SELECT 'lead_scoped'::regclass::oid") == oid
