"""The API's response class: every JSON body through app.core.json."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import Response
from litestar.serialization import default_serializer
from litestar.types import Serializer

from app.core.json import encode_json

T = TypeVar("T")


class ApiResponse(Response[T]):
    """Litestar's Response with Atrium's JSON encoding; the app's default response class."""

    def render(self, content: Any, media_type: str, enc_hook: Serializer = default_serializer) -> bytes:
        """JSON through `encode_json`; everything else as Litestar does it."""
        if media_type.startswith("application/json") and not isinstance(content, bytes | str):
            return encode_json(content)
        return super().render(content, media_type, enc_hook)
