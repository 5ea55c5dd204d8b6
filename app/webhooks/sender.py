"""One HTTP POST of a webhook: to the address that was checked, no redirects, 10 s at most, the answer cut at 2 KB."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from app.webhooks.ssrf import UnsafeTarget, literal_ip, parse_target, resolve_checked

TIMEOUT = 10.0
EXCERPT = 2048
_clients: dict[int, httpx.AsyncClient] = {}


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


def _client() -> httpx.AsyncClient:
    """One pooled client per event loop (redirects are never followed)."""
    loop = id(asyncio.get_running_loop())
    client = _clients.get(loop)
    if client is None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        client = _clients[loop] = httpx.AsyncClient(follow_redirects=False, timeout=TIMEOUT, limits=limits, trust_env=False)
    return client


async def close_clients() -> None:
    """Close this loop's client (worker shutdown)."""
    client = _clients.pop(id(asyncio.get_running_loop()), None)
    if client is not None:
        await client.aclose()


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


async def post(url: str, headers: dict[str, str], body: bytes, *, allow_private: bool, timeout: float = TIMEOUT) -> Outcome:  # noqa: ASYNC109 - a total budget
    """POST `body` to `url` after checking where it goes; never raises for the receiver's faults."""
    started = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        target = parse_target(url)
        address = await resolve_checked(target, allow_private=allow_private)
    except UnsafeTarget as refused:
        return Outcome(error=f"Refused: {refused}", duration_ms=took())
    host = f"[{address}]" if ":" in address else address
    extensions = {"sni_hostname": target.host} if target.scheme == "https" and literal_ip(target.host) is None else {}
    try:
        async with asyncio.timeout(timeout):
            request = _client().build_request(
                "POST",
                f"{target.scheme}://{host}:{target.port}{target.path_and_query}",
                content=body,
                headers={**headers, "Host": target.authority},
                extensions=extensions,
            )
            response = await _client().send(request, stream=True)
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
        headers={k: v[:500] for k, v in list(response.headers.items())[:30]},
        excerpt=excerpt,
        error=error,
        duration_ms=took(),
        retry_after=retry_after(response.headers.get("retry-after")),
    )
