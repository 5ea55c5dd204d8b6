"""Versions of a record as ETags: what a GET answers with and what a change's `If-Match` must name."""

from __future__ import annotations

import hashlib
from typing import Any

from app.core.errors import PreconditionFailed
from app.core.json import encode_json


def etag_of(body: bytes) -> str:
    """A strong ETag for a response body."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_of_resource(resource: Any) -> str:
    """The ETag a GET of this resource answers with (same serialization as the response)."""
    return etag_of(encode_json(resource))


def etag_matches(header: str, etag: str, *, weak: bool) -> bool:
    """RFC 9110: If-None-Match compares weakly, If-Match strongly (a W/ tag never matches it)."""
    candidates = [c.strip() for c in header.split(",")]
    if "*" in candidates:
        return True
    if weak:
        candidates = [c.removeprefix("W/") for c in candidates]
    return etag in candidates


def require_current(if_match: str | None, current: Any) -> None:
    """Refuse a change whose If-Match names another version than `current` (call it with the row locked)."""
    if if_match and not etag_matches(if_match, etag_of_resource(current), weak=False):
        raise PreconditionFailed(
            "The resource changed since you read it (If-Match does not match the current ETag)",
            details={"etag": etag_of_resource(current)},
            human="Someone else changed this record since you opened it. Reload to see their change.",
        )
