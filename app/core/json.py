"""The one JSON encoding of Atrium: msgspec, with Decimal money as exact JSON numbers."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.serialization import default_serializer

# Decimals are written as JSON numbers with every digit kept (2000000.00 → 2000000.00), never floats.
_ENCODER = msgspec.json.Encoder(enc_hook=default_serializer, decimal_format="number")


def encode_json(value: Any) -> bytes:
    """Encode a value exactly as the API sends it."""
    return _ENCODER.encode(value)
