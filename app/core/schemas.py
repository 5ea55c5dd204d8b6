"""Base msgspec types shared by every domain's schemas."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, ClassVar

import msgspec
import phonenumbers

from app.core.errors import ValidationFailed

# Python's \s (the server's) and ECMA's \s (the OpenAPI reader's) differ on a few characters (\x1c-\x1f, \x85,
# \ufeff); these classes name them literally, so the schema's patterns mean the same on both sides.
NOT_SPACE = "[^\\s\x1c-\x1f\x85\ufeff]"
_ADDRESS_PART = "[^@\\s\x1c-\x1f\x85\ufeff]+"
EMAIL_PATTERN = f"^{_ADDRESS_PART}@{_ADDRESS_PART}\\.{_ADDRESS_PART}$"
EMAIL_RE = re.compile(EMAIL_PATTERN)

# Money in a request: a JSON number or a decimal string with at most 2 decimals, from 0 to MAX_MONEY. The OpenAPI
# document says both (app/web/openapi.py finds the pattern); services refuse more decimals (`details.reason: precision`).
MONEY_PATTERN = r"^[0-9]{1,14}(\.[0-9]{1,2})?$"
MAX_MONEY = Decimal("99999999999999.99")
# A rate (tax, discount) as a fraction from 0 to 1 with at most 4 decimals: 0.05 is 5 %, 0.0825 is 8.25 %.
RATE_PATTERN = r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"
# A quantity (hours, units) with at most 4 decimals.
QUANTITY_PATTERN = r"^[0-9]{1,9}(\.[0-9]{1,4})?$"
MAX_QUANTITY = Decimal("999999999.9999")
# A payment: an amount more than 0 (no leading zeros in the string form, so the pattern needs no lookahead).
POSITIVE_MONEY_PATTERN = r"^([1-9][0-9]{0,13}(\.[0-9]{1,2})?|0\.([1-9][0-9]?|0[1-9]))$"
# An exchange rate: more than 0, at most 8 decimals and 6 digits before the point (14 digits: a JSON number's float
# holds the largest exactly, so the schema's bound and the server's agree).
EXCHANGE_RATE_PATTERN = r"^([1-9][0-9]{0,5}(\.[0-9]{1,8})?|0\.(?=[0-9]*[1-9])[0-9]{1,8})$"
MAX_EXCHANGE_RATE = Decimal("999999.99999999")


@dataclass(frozen=True, slots=True)
class DecimalInput:
    """What a decimal input's pattern allows: up to `maximum`, with at most `places` decimals, and more than 0 when
    `positive` (else from 0)."""

    maximum: Decimal
    places: int
    positive: bool = False


# Every decimal input's pattern and its bounds: the OpenAPI document offers a number in range or such a string
# (app/web/openapi.py); `checked_decimal` refuses what the schema cannot say (more decimals than allowed).
DECIMAL_INPUTS: dict[str, DecimalInput] = {
    MONEY_PATTERN: DecimalInput(MAX_MONEY, 2),
    POSITIVE_MONEY_PATTERN: DecimalInput(MAX_MONEY, 2, positive=True),
    RATE_PATTERN: DecimalInput(Decimal(1), 4),
    QUANTITY_PATTERN: DecimalInput(MAX_QUANTITY, 4),
    EXCHANGE_RATE_PATTERN: DecimalInput(MAX_EXCHANGE_RATE, 8, positive=True),
}


def checked_decimal(field: str, value: Decimal | None, pattern: str, *, noun: str, human: str | None = None) -> Decimal | None:
    """`value` when it is finite, within the pattern's bounds, with at most its decimals (DECIMAL_INPUTS); else a 422."""
    if value is None:
        return None
    bounds = DECIMAL_INPUTS[pattern]
    if not value.is_finite() or value < 0 or value > bounds.maximum or (bounds.positive and value == 0):
        kind = f"more than 0, at most {bounds.maximum}" if bounds.positive else f"from 0 to {bounds.maximum}"
        raise ValidationFailed(
            f"Invalid {field}: a {'positive' if bounds.positive else 'non-negative'} {noun} of at most {bounds.maximum}",
            details={"field": field, "provided": str(value), "expected": f"{_a(noun)} {kind}"},
            human=human,
        )
    if value != value.quantize(Decimal(1).scaleb(-bounds.places)):
        raise ValidationFailed(
            f"Invalid {field}: at most {bounds.places} decimals",
            # `reason`: a JSON number's decimals are beyond what JSON Schema's multipleOf can state exactly (binary floats).
            details={
                "field": field,
                "provided": str(value),
                "expected": f"{_a(noun)} with at most {bounds.places} decimals",
                "reason": "precision",
            },
            human=human,
        )
    return value


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def checked_money(field: str, amount: Decimal | None, human: str | None = None) -> Decimal | None:
    """`amount` when it is a finite, non-negative amount of at most MAX_MONEY with at most 2 decimals; else a 422."""
    return checked_decimal(field, amount, MONEY_PATTERN, noun="amount", human=human)


# Money in an answer: a Decimal sent as an exact JSON number (app/core/json.py), as the guides show budgets (2500000);
# the schema says `number` (Litestar's default for Decimal is a string; app/web/openapi.py applies this).
Amount = Annotated[Decimal, msgspec.Meta(extra_json_schema={"type": "number"}, description="Exact amount, sent as a JSON number")]
# A record's id in a request body: at most 2**53, the largest integer every JSON reader (a float) holds exactly; no
# record has a larger one, and a schema-valid id always fits PostgreSQL's bigint.
RecordId = Annotated[int, msgspec.Meta(ge=1, le=2**53, description="An id")]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=EMAIL_PATTERN, description="E-mail address")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256, description="At least 8 characters")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# A name that is more than white space (the server keeps it stripped).
VisibleName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NOT_SPACE)]
# International format: a leading +, then digits (spaces, dashes, dots and brackets are tolerated);
# the server also asks libphonenumber whether such a number can exist (normalise_phone).
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+[1-9][0-9 ().\-]{5,24}$", description="International format starting with +")]
_PHONE_LIKE = re.compile(r"^\+?[0-9 ().\-]{6,30}$")


def normalise_phone(phone: str) -> str:
    """`+971 50-123 4567` → `+971501234567` (E.164, by libphonenumber); a number no country could have is refused."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise ValidationFailed(
            "Invalid phone number format",
            # `reason`: the shape is right (the schema's pattern), but no numbering plan has such a number.
            details={
                "field": "phone",
                "provided": phone,
                "expected": "International format starting with +",
                "reason": "impossible_number",
            },
            human="Enter the phone in international format, like +971 50 123 4567",
        )
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def phone_search_term(term: str) -> str:
    """What to look for when someone types a phone into a search box: its digits, without the `+` or a
    leading trunk 0, so `+971 50-123 4567`, `971501234567` and `050 123 4567` all find `+971501234567`."""
    if not _PHONE_LIKE.match(term.strip()):
        return term
    digits = re.sub(r"[^0-9]", "", term)
    return digits.lstrip("0") if len(digits) >= 6 else term


class RequestBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every request body: unknown or read-only fields are refused, never stored."""

    # Fields of which at least one must be sent (two spellings of one field); the OpenAPI schema says so.
    one_of_required: ClassVar[tuple[str, ...]] = ()
    # Fields that may not both carry a value (a company by name and by id); null counts as not sent. The schema says so.
    not_both: ClassVar[tuple[str, ...]] = ()
    # Fields whose values (an array's items) must be one of a list known only once the app is assembled
    # (event types, declared by the domains): the OpenAPI schema lists them as an `enum`; the service checks.
    allowed_values: ClassVar[dict[str, Callable[[], list[str]]]] = {}


class ResponseBody(msgspec.Struct, kw_only=True):
    """Base of every response body."""


class Problem(ResponseBody):
    """The error object inside the envelope."""

    code: str
    message: str
    details: dict[str, object]
    request_id: str
    retry_after_seconds: int | msgspec.UnsetType = msgspec.UNSET  # on 429 only


class ErrorEnvelope(ResponseBody):
    """Every error answer: `{"error": {...}}`."""

    error: Problem
