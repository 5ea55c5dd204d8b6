"""Base msgspec types shared by every domain's schemas."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from app.core.errors import ValidationFailed

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="E-mail address")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256, description="At least 8 characters")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# International format: a leading +, then digits (spaces, dashes, dots and brackets are tolerated).
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+[1-9][0-9 ().\-]{5,24}$", description="International format starting with +")]
_PHONE_NOISE = re.compile(r"[ ().\-]")


def normalise_phone(phone: str) -> str:
    """`+971 50-123 4567` → `+971501234567`; the result must have 7 to 15 digits."""
    digits = _PHONE_NOISE.sub("", phone)
    if not re.fullmatch(r"\+[1-9][0-9]{6,14}", digits):
        raise ValidationFailed(
            "Invalid phone number format",
            details={"field": "phone", "provided": phone, "expected": "International format starting with +"},
            human="International format starting with +, like +971 50 123 4567",
        )
    return digits


class RequestBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every request body: unknown or read-only fields are refused, never stored."""


class ResponseBody(msgspec.Struct, kw_only=True):
    """Base of every response body."""


class Problem(ResponseBody):
    """The error object inside the envelope."""

    code: str
    message: str
    request_id: str
    details: dict[str, object] = {}


class ErrorEnvelope(ResponseBody):
    """Every error answer: `{"error": {...}}`."""

    error: Problem
