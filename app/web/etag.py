"""ETags on JSON GETs (`If-None-Match` → 304) and `If-Match` checks for PATCH (412 when stale)."""

from __future__ import annotations

import hashlib
from typing import Any

from app.web.context import ASGIApp, Message, Receive, Scope, Send, header
from app.web.errors import PreconditionFailed, is_api_path
from app.web.json import encode_json


def etag_of(body: bytes) -> str:
    """A strong ETag for a response body."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_of_resource(resource: Any) -> str:
    """The ETag a GET of this resource answers with (same serialization as the response)."""
    return etag_of(encode_json(resource))


def _matches(header: str, etag: str, *, weak: bool) -> bool:
    """RFC 9110: If-None-Match compares weakly, If-Match strongly (a W/ tag never matches it)."""
    candidates = [c.strip() for c in header.split(",")]
    if "*" in candidates:
        return True
    if weak:
        candidates = [c.removeprefix("W/") for c in candidates]
    return etag in candidates


def require_current(if_match: str | None, current: Any) -> None:
    """Refuse a change whose If-Match names another version than `current` (call it with the row locked)."""
    if if_match and not _matches(if_match, etag_of_resource(current), weak=False):
        raise PreconditionFailed(
            "The resource changed since you read it (If-Match does not match the current ETag)",
            details={"etag": etag_of_resource(current)},
        )


class ETagMiddleware:
    """Add an ETag to complete (non-streamed) 200 JSON answers to GET, and answer 304 when unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        if_none_match = header(scope, "if-none-match")
        start: Message | None = None
        passthrough = False

        async def buffered_send(message: Message) -> None:
            nonlocal start, passthrough
            if passthrough:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            content_type = dict(start.get("headers") or []).get(b"content-type", b"")
            if start["status"] != 200 or message.get("more_body", False) or not content_type.startswith(b"application/json"):
                passthrough = True
                await send(start)
                await send(message)
                return
            body = message.get("body", b"")
            etag = etag_of(body)
            headers = [(k, v) for k, v in start.get("headers") or [] if k.lower() not in (b"etag", b"content-length")]
            headers += [(b"etag", etag.encode()), (b"cache-control", b"private, no-cache")]
            if if_none_match and _matches(if_none_match, etag, weak=True):
                await send({"type": "http.response.start", "status": 304, "headers": headers})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send(message)

        await self.app(scope, receive, buffered_send)
