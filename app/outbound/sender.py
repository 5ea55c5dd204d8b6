"""One HTTP POST of a webhook: to the address that was checked, no redirects, 10 s at most, the answer cut at 2 KB."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from app.outbound.ssrf import UnsafeTarget, literal_ip, parse_target, resolve_checked

TIMEOUT = 10.0
EXCERPT = 2048
_clients: dict[tuple[int, str], httpx.AsyncClient] = {}
MAX_CLIENTS = 256
HEADERS_BUDGET = 2048  # what is kept of the response's headers, like its body


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to."""

    status_code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    excerpt: str = ""
    error: str = ""
    duration_ms: int = 0
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """2xx: delivered."""
        return self.status_code is not None and 200 <= self.status_code < 300


def _client(tls_host: str) -> httpx.AsyncClient:
    """A pooled client per event loop and TLS host name (redirects are never followed).

    Requests go to the checked IP address, so connections are pooled by address: one pool per TLS
    host keeps a connection verified for one name from carrying another name's deliveries."""
    key = (id(asyncio.get_running_loop()), tls_host)
    client = _clients.get(key)
    if client is None:
        if len(_clients) >= MAX_CLIENTS:
            stale = next(iter(_clients))
            asyncio.get_running_loop().create_task(_clients.pop(stale).aclose())
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        client = _clients[key] = httpx.AsyncClient(follow_redirects=False, timeout=TIMEOUT, limits=limits, trust_env=False)
    return client


async def close_clients() -> None:
    """Close this loop's clients (worker shutdown)."""
    loop = id(asyncio.get_running_loop())
    for key in [k for k in _clients if k[0] == loop]:
        await _clients.pop(key).aclose()


def retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds from now (a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _kept(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The response's headers up to 2 KB in all."""
    kept: dict[str, str] = {}
    room = HEADERS_BUDGET
    for name, value in items:
        room -= len(name) + len(value) + 4
        if room < 0:
            break
        kept[name] = value
    return kept


async def post(
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    allow_private: bool,
    timeout: float = TIMEOUT,  # noqa: ASYNC109 - a total budget
    method: str = "POST",
) -> Outcome:
    """POST `body` to `url` (or another `method`: a provider's GET) after checking where it goes; never raises for the
    receiver's faults."""
    started = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        async with asyncio.timeout(timeout):  # the name lookup counts in the 10 s too
            target = parse_target(url)
            address = await resolve_checked(target, allow_private=allow_private)
            host = f"[{address}]" if ":" in address else address
            tls_host = target.host if target.scheme == "https" and literal_ip(target.host) is None else ""
            extensions = {"sni_hostname": tls_host} if tls_host else {}
            client = _client(tls_host)
            request = client.build_request(
                method,
                f"{target.scheme}://{host}:{target.port}{target.path_and_query}",
                content=body,
                headers={**headers, "Host": target.authority},
                extensions=extensions,
            )
            response = await client.send(request, stream=True)
            try:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= EXCERPT:
                        break
            finally:
                await response.aclose()
    except UnsafeTarget as refused:
        return Outcome(error=f"Refused: {refused}", duration_ms=took())
    except TimeoutError:
        return Outcome(error=f"Timed out after {timeout:g} s", duration_ms=took())
    except httpx.HTTPError as failed:
        return Outcome(error=f"{type(failed).__name__}: {failed}"[:500] or type(failed).__name__, duration_ms=took())
    excerpt = b"".join(chunks)[:EXCERPT].decode("utf-8", "replace")
    error = ""
    if 300 <= response.status_code < 400:
        error = f"Redirect to {response.headers.get('location', '?')} not followed"
    elif not 200 <= response.status_code < 300:
        error = f"HTTP {response.status_code}"
    return Outcome(
        status_code=response.status_code,
        headers=_kept(response.headers.items()),
        excerpt=excerpt,
        error=error,
        duration_ms=took(),
        retry_after=retry_after(response.headers.get("retry-after")),
    )
