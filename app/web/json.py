"""The one JSON encoding of the API: msgspec, with Decimal money as exact JSON numbers."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Response
from litestar.serialization import default_serializer
from litestar.types import Serializer

T = TypeVar("T")

# Decimals are written as JSON numbers with every digit kept (2000000.00 → 2000000.00), never floats.
_ENCODER = msgspec.json.Encoder(enc_hook=default_serializer, decimal_format="number")


def encode_json(value: Any) -> bytes:
    """Encode a response body exactly as the API sends it."""
    return _ENCODER.encode(value)


class ApiResponse(Response[T]):
    """Litestar's Response with Atrium's JSON encoding; the app's default response class."""

    def render(self, content: Any, media_type: str, enc_hook: Serializer = default_serializer) -> bytes:
        """JSON through `encode_json`; everything else as Litestar does it."""
        if media_type.startswith("application/json") and not isinstance(content, bytes | str):
            return encode_json(content)
        return super().render(content, media_type, enc_hook)
