"""Helpers shared by the tests: waiting for jobs, logging in over HTTP, running Atrium's own processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from tests.factories import PASSWORD, Account


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0, interval: float = 0.1) -> None:
    """Wait until `check()` is true (for background jobs), failing after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def browser_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A second HTTP client with its own cookie jar, as another person's browser."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def csrf_of(html: str) -> str:
    """The CSRF token a page embeds (forms and the <body> hx-headers)."""
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html) or re.search(r'"x-csrf-token": "([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


async def browser_login(client: httpx.AsyncClient, account: Account, password: str = PASSWORD) -> httpx.Response:
    """Log in through the login form, as a browser would (cookies kept in the client's jar)."""
    page = await client.get("/login")
    if page.status_code != 200:  # already logged in: logging in again must still rotate the session
        page = await client.get("/")
    return await client.post(
        "/login", data={"email": account.email, "password": password, "_csrf_token": csrf_of(page.text), "next": "/settings/team"}
    )


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


_OUTPUTS: weakref.WeakKeyDictionary[subprocess.Popen[str], Any] = weakref.WeakKeyDictionary()


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """Start one of Atrium's processes with its output (stdout and stderr) going to a file, read by `output_of`.
    Never a pipe: a pipe nobody reads fills at 64 KiB and the server stops at its next log line, mid-request."""
    log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed with the process's entry)
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    _OUTPUTS[proc] = log
    weakref.finalize(proc, log.close)
    return proc


def output_of(proc: subprocess.Popen[str]) -> str:
    """What a `spawn`ed process has written so far."""
    log = _OUTPUTS[proc]
    log.flush()
    log.seek(0)
    text: str = log.read()
    return text


def process_env(**overrides: str) -> dict[str, str]:
    """The test environment for a child process, without the parent's Atrium settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "QUEUE_URL", "SECRET_KEY", "ATRIUM_DATA_DIR", "ATRIUM_PORT")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env
