"""Helpers for tests that run Atrium's own processes (CLI, worker, live server)."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(dsn: str, name: str) -> str:
    """The same server's DSN, pointing at database `name`."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


async def create_database(dsn: str, name: str) -> str:
    """(Re)create an empty database on the test server and return its DSN."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(dsn, name)


def atrium_command(*args: str) -> list[str]:
    """`atrium …` run with this interpreter, as the console script would."""
    return [sys.executable, "-m", "app.cli", *args]


def process_env(**overrides: str) -> dict[str, str]:
    """The test environment for a child process, without the parent's Atrium settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "QUEUE_URL", "SECRET_KEY", "ATRIUM_DATA_DIR", "ATRIUM_PORT")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env
