"""The API reads JSON (and, on the few endpoints that take them, forms and file uploads): a body of any other
type is refused with 415 before any work, instead of being parsed as JSON whatever it claims to be."""

from __future__ import annotations

from litestar.exceptions import HTTPException

from app.web.context import ASGIApp, Receive, Scope, Send, header
from app.web.errors import is_api_path

ACCEPTED = ("application/json", "multipart/form-data", "application/x-www-form-urlencoded")


def _accepted(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind in ACCEPTED or (kind.startswith("application/") and kind.endswith("+json"))


class MediaTypeMiddleware:
    """415 for a /v2 request whose body is declared as something the API does not read (text/plain, XML…)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH") and is_api_path(scope["path"]):
            content_type = header(scope, "content-type")
            if content_type is not None and not _accepted(content_type):
                raise HTTPException(
                    status_code=415,
                    detail=f"Send the body as application/json (got {content_type.split(';', 1)[0][:60]})",
                )
        await self.app(scope, receive, send)
