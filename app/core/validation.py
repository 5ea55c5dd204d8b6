"""msgspec's validation messages turned into field errors, in one place.

Every input path (a JSON body, a form on a screen, a row of an imported file) goes through
`field_problem`, which gives the field, what the API reports as `expected`, and the wording a
person on a screen reads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from app.core.errors import DomainError, ValidationFailed
from app.core.schemas import normalise_phone

_AT_FIELD = re.compile(r" - at `\$\.([A-Za-z0-9_\.\[\]]+)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
# (msgspec's wording, the API's `expected`, a person's wording) — the API's words are documented and stay.
_REWRITES = [
    (re.compile(r"Expected `str` matching regex .*"), "a value in the expected format", "Use the expected format"),
    (re.compile(r"Expected `str` of length >= 1$"), "at least 1 characters", "Required: this cannot be empty"),
    (re.compile(r"Expected `str` of length >= (\d+)"), r"at least \1 characters", r"Enter at least \1 characters"),
    (re.compile(r"Expected `str` of length <= (\d+)"), r"at most \1 characters", r"Enter at most \1 characters"),
    (re.compile(r"Expected `(int|float)` >= (\S+)"), r"a number of at least \2", r"Enter a number of at least \2"),
    (re.compile(r"Expected `(int|float)` <= (\S+)"), r"a number of at most \2", r"Enter a number of at most \2"),
    (re.compile(r"Expected `(int|float|decimal)`.*"), None, "Enter a number"),
    (re.compile(r"Invalid decimal string"), None, "Enter a number, like 1500000 or 1500000.50"),
    (re.compile(r"Invalid enum value (.*)"), r"one of the allowed values (got \1)", "Choose one of the options"),
]
# A webhook endpoint's address (the schema's pattern is app.outbound.ssrf's): "the expected format" tells nobody what to type.
WEB_ADDRESS = (
    "An http:// or https:// URL with a host name",
    "Enter a full web address starting with https://, like https://example.com/hooks",
)
# What a few well-known fields must look like: (the API's `expected`, a person's wording).
WELL_KNOWN = {
    "email": ("A valid e-mail address, e.g. name@example.com", "Enter a valid e-mail address, like name@example.com"),
    "phone": ("International format starting with +", "Enter the phone in international format, like +971 50 123 4567"),
    "owner_phone": ("International format starting with +", "Enter the phone in international format, like +971 50 123 4567"),
    "owner_email": ("A valid e-mail address, e.g. name@example.com", "Enter a valid e-mail address, like name@example.com"),
    "webhook_url": WEB_ADDRESS,
    "url": WEB_ADDRESS,  # the NeuraCRM guide's name for a webhook's address
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
    return _refusal([field_problem(str(exc))])


def _refusal(problems: list[FieldProblem]) -> ValidationFailed:
    """One ValidationFailed for one or more problems: the first is the headline, all are in `problems`."""
    first = problems[0]
    details: dict[str, Any] = {"field": first.field, "expected": first.expected}
    if len(problems) > 1:
        details["errors"] = [{"field": p.field, "expected": p.expected} for p in problems]
    refusal = ValidationFailed(f"Invalid {first.field}: {first.expected}", details=details, human=first.human)
    refusal.problems = problems  # type: ignore[attr-defined]
    return refusal


def problems_of(exc: DomainError) -> list[FieldProblem]:
    """Every field problem a refusal carries (one for a rule the services check)."""
    found: list[FieldProblem] | None = getattr(exc, "problems", None)
    return found or [FieldProblem(exc.field or "form", str(exc.details.get("expected", exc.message)), exc.human)]


def _each_field(data: dict[str, Any], schema: type[msgspec.Struct]) -> list[FieldProblem]:
    """Every field that fails on its own (type, length, pattern, missing, unknown), so a form shows them all at once."""
    found: list[FieldProblem] = []
    fields = {f.encode_name: f for f in msgspec.structs.fields(schema)}
    for name in data:
        if name not in fields and schema.__struct_config__.forbid_unknown_fields:
            found.append(FieldProblem(name, *UNKNOWN))
    for name, info in fields.items():
        if name not in data:
            if info.required:
                found.append(FieldProblem(name, *REQUIRED))
            continue
        try:
            value = msgspec.convert(data[name], info.type, strict=False)
            if name == "phone" and isinstance(value, str):
                normalise_phone(value)  # a number no country could have, beside the other problems
        except msgspec.ValidationError as exc:
            found.append(field_problem(str(exc), name))
        except ValidationFailed as exc:
            found.append(FieldProblem(name, str(exc.details.get("expected", exc.message)), exc.human))
        except TypeError:  # a type msgspec cannot convert on its own (a nested forward reference): the whole check says
            continue
    return found


def convert_input(data: dict[str, Any], schema: type[msgspec.Struct]) -> Any:
    """Form or file values into `schema` (strings are coerced), or a ValidationFailed naming every bad field."""
    try:
        return msgspec.convert(data, schema, strict=False)
    except msgspec.ValidationError as exc:
        raise _refusal(_each_field(data, schema) or [field_problem(str(exc))]) from None


def list_pattern(values: Sequence[str]) -> str:
    """The pattern of a filter taking one or more of `values` separated by commas (spaces around each, blank for none):
    what its schema says, and what `parse_list` reads."""
    one = "(?:" + "|".join(values) + ")"
    return f"^ *(?:{one} *(?:, *{one} *)*)?$"


def parse_list(raw: str | None, values: Sequence[str], *, field: str = "status") -> tuple[str, ...]:
    """`sent,overdue` → ('sent', 'overdue'), in any case; blank is no filter; a value not in `values` is a 422."""
    if not raw or not raw.strip():
        return ()
    chosen = tuple(v.strip().lower() for v in raw.split(",") if v.strip())
    unknown = [v for v in chosen if v not in values]
    if unknown or not chosen:
        raise ValidationFailed(
            f"Invalid {field}: {unknown[0] if unknown else raw}",
            details={"field": field, "provided": raw, "expected": f"one or more of: {', '.join(values)}"},
            human=f"Choose one of the {field}{'es' if field.endswith('s') else 's'}",
        )
    return chosen


def in_words(exc: DomainError) -> str:
    """A refusal as one line naming every field it is about, for reports that list many (an import's rows)."""
    if not getattr(exc, "problems", None):  # a rule's refusal is already a sentence that names what it is about
        return exc.human
    return "; ".join(
        f"{p.field.replace('_', ' ')} is required" if p.expected == REQUIRED[0] else f"{p.field.replace('_', ' ')}: {p.human}"
        for p in problems_of(exc)
    )
