"""ETags on JSON GETs (`If-None-Match` → 304); services check `If-Match` with app.core.versions."""

from __future__ import annotations

from typing import Annotated

from litestar.openapi.spec import OpenAPIType, Parameter, Schema
from litestar.params import Parameter as HandlerParameter

from app.core.versions import etag_matches as _matches
from app.core.versions import etag_of
from app.web.context import ASGIApp, Message, Receive, Scope, Send, header
from app.web.errors import is_api_path

# `If-Match` on a PATCH: a handler that honours it takes it with this type (so its OpenAPI operation lists it).
IfMatch = Annotated[
    str | None,
    HandlerParameter(header="If-Match", description="The `ETag` of the version being changed; 412 when it is no longer current"),
]
# `If-None-Match` is honoured by this middleware, on every operation `answers_not_modified` names.
IF_NONE_MATCH = Parameter(
    name="If-None-Match",
    param_in="header",  # type: ignore[arg-type]
    required=False,
    schema=Schema(type=OpenAPIType.STRING),
    description="An `ETag` of this answer (or a list of them, or `*`): 304 without a body when it still matches",
)


def answers_not_modified(method: str, path: str) -> bool:
    """Whether a request gets an `ETag` and honours `If-None-Match` (the middleware and the OpenAPI document ask)."""
    return method == "GET" and is_api_path(path)


class ETagMiddleware:
    """Add an ETag to complete (non-streamed) 200 JSON answers to GET, and answer 304 when unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not answers_not_modified(scope["method"], scope["path"]):
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
