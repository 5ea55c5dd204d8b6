"""msgspec's validation messages turned into field errors, in one place.

Every input path (a JSON body, a form on a screen, a row of an imported file) goes through
`field_problem`, which gives the field, what the API reports as `expected`, and the wording a
person on a screen reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import msgspec

from app.core.errors import DomainError, ValidationFailed

_AT_FIELD = re.compile(r" - at `\$\.([A-Za-z0-9_\.\[\]]+)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
# (msgspec's wording, the API's `expected`, a person's wording) — the API's words are documented and stay.
_REWRITES = [
    (re.compile(r"Expected `str` matching regex .*"), "a value in the expected format", "Use the expected format"),
    (re.compile(r"Expected `str` of length >= (\d+)"), r"at least \1 characters", r"Enter at least \1 characters"),
    (re.compile(r"Expected `str` of length <= (\d+)"), r"at most \1 characters", r"Enter at most \1 characters"),
    (re.compile(r"Expected `(int|float)` >= (\S+)"), r"a number of at least \2", r"Enter a number of at least \2"),
    (re.compile(r"Expected `(int|float)` <= (\S+)"), r"a number of at most \2", r"Enter a number of at most \2"),
    (re.compile(r"Expected `(int|float|decimal)`.*"), None, "Enter a number"),
    (re.compile(r"Invalid enum value (.*)"), r"one of the allowed values (got \1)", "Choose one of the options"),
]
# What a few well-known fields must look like: (the API's `expected`, a person's wording).
WELL_KNOWN = {
    "email": ("A valid e-mail address, e.g. name@example.com", "Enter a valid e-mail address, like name@example.com"),
    "phone": ("International format starting with +", "International format starting with +, like +971 50 123 4567"),
}
REQUIRED = ("This field is required", "Required")
UNKNOWN = ("This field is unknown or read-only and may not be set", "This field cannot be set here")


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One invalid input: which field, what the API says is expected, and what a person reads."""

    field: str
    expected: str
    human: str


def field_problem(text: str, key: str = "") -> FieldProblem:
    """Read one msgspec/Litestar validation message (`key`: the field when the caller knows it)."""
    if m := _UNKNOWN_FIELD.search(text):
        return FieldProblem(m.group(1), *UNKNOWN)
    if m := _MISSING_FIELD.search(text):
        return FieldProblem(m.group(1), *REQUIRED)
    if m := _AT_FIELD.search(text):
        key, text = m.group(1), text[: m.start()]
    field = key or "request"
    if field in WELL_KNOWN and text.startswith("Expected `str"):  # `str`, `str | null`, a pattern or a length
        return FieldProblem(field, *WELL_KNOWN[field])
    for pattern, expected, human in _REWRITES:
        if pattern.match(text):
            return FieldProblem(field, pattern.sub(expected, text) if expected else text, pattern.sub(human, text))
    return FieldProblem(field, text, text[:1].upper() + text[1:])


def invalid_input(exc: msgspec.ValidationError) -> ValidationFailed:
    """The domain error for input that failed its schema."""
    problem = field_problem(str(exc))
    return ValidationFailed(
        f"Invalid {problem.field}: {problem.expected}",
        details={"field": problem.field, "expected": problem.expected},
        human=problem.human,
    )


def convert_input(data: dict[str, Any], schema: type[msgspec.Struct]) -> Any:
    """Form or file values into `schema` (strings are coerced), or a ValidationFailed naming the field."""
    try:
        return msgspec.convert(data, schema, strict=False)
    except msgspec.ValidationError as exc:
        raise invalid_input(exc) from None


def in_words(exc: DomainError) -> str:
    """A refusal as one line that names its field, for reports that list many (an import's rows)."""
    if exc.details.get("expected") == REQUIRED[0]:
        return f"{exc.field} is required"
    return f"{exc.field}: {exc.human}" if exc.field else exc.human
