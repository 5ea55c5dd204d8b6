"""Invalid input described once: the API's documented details and a person's wording."""

from __future__ import annotations

import msgspec
import pytest

from app.core.errors import ValidationFailed
from app.core.pagination import sort_order
from app.core.schemas import normalise_phone, phone_search_term
from app.core.validation import convert_input, field_problem, in_words
from app.leads.schemas import LeadCreate
from app.leads.service import check_ranges


def test_msgspec_messages_become_field_problems() -> None:
    assert field_problem("Object missing required field `name`").field == "name"
    email = field_problem("Expected `str` matching regex '^[^@]+$' - at `$.email`")
    assert (email.field, email.expected) == ("email", "A valid e-mail address, e.g. name@example.com")
    assert email.human.startswith("Enter a valid e-mail address")
    short = field_problem("Expected `str` of length >= 3 - at `$.title`")
    assert (short.expected, short.human) == ("at least 3 characters", "Enter at least 3 characters")
    wrong_type = field_problem("Expected `str | null`, got `int` - at `$.email`")
    assert wrong_type.expected == "A valid e-mail address, e.g. name@example.com", "the documented wording, whatever msgspec says"
    unknown = field_problem("Object contains unknown field `tenant_id`")
    assert unknown.field == "tenant_id" and "read-only" in unknown.expected


def test_forms_and_files_get_the_same_errors_as_the_api() -> None:
    with pytest.raises(ValidationFailed) as caught:
        convert_input({"name": "Ali", "phone": "12345"}, LeadCreate)
    assert caught.value.field == "phone" and caught.value.human == "Enter the phone in international format, like +971 50 123 4567"
    with pytest.raises(ValidationFailed) as missing:
        convert_input({}, LeadCreate)
    assert in_words(missing.value) == "name is required"
    assert isinstance(convert_input({"name": "Ali", "bedrooms_min": "2"}, LeadCreate), msgspec.Struct), "form strings are coerced"


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        convert_input({"email": "nope", "phone": "+100000", "budget_min": "lots", "status": "MAYBE"}, LeadCreate)
    refusal = caught.value
    fields = [e["field"] for e in refusal.details["errors"]]
    assert sorted(fields) == ["budget_min", "email", "name", "phone", "status"], "a number no country has is one of them"
    assert refusal.details["field"] == fields[0], "the first problem stays the headline the API documents"
    words = in_words(refusal)
    assert "name is required" in words and "budget min: Enter a number" in words and "status: Choose one of the options" in words
    assert "regex" not in words and "Expected" not in words, "no msgspec wording reaches a person"


def test_range_rules_speak_to_people() -> None:
    from decimal import Decimal

    with pytest.raises(ValidationFailed) as caught:
        check_ranges({"budget_min": Decimal(5), "budget_max": Decimal(1)})
    assert caught.value.human == "Budget minimum cannot exceed the maximum"
    assert caught.value.details["field"] == "budget_min", "the API's details stay as documented"


def test_one_sort_rule_for_every_list() -> None:
    order = sort_order("-created_at", {"created_at": "c.created_at", "name": "c.name"}, "name")
    assert order.sql(tiebreak="c.id") == "c.created_at DESC, c.id DESC"
    assert sort_order(None, {"name": "name"}, "name").sql(nulls_last=True) == "name ASC NULLS LAST, id ASC"
    with pytest.raises(ValidationFailed) as caught:
        sort_order("password", {"name": "name"}, "name")
    assert caught.value.details["expected"].startswith("one of: name")
    for doubled in ("--name", "+-name", "-+name"):
        with pytest.raises(ValidationFailed):
            sort_order(doubled, {"name": "name"}, "name")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+971 50-123 4567", "+971501234567"),
        ("+1-555-0123", "+15550123"),
        ("+33 1 23 45 67 89", "+33123456789"),
        ("+44 (0)20 7946 0018", "+442079460018"),
    ],
)
def test_phones_are_stored_in_e164_by_libphonenumber(typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["+100000", "+12345", "0501234567", "phone", "+999 123 456 789"])
def test_numbers_no_country_could_have_are_refused(typed: str) -> None:
    with pytest.raises(ValidationFailed):
        normalise_phone(typed)


@pytest.mark.parametrize(
    ("typed", "searched"),
    [("+971 50-123 4567", "971501234567"), ("050 123 4567", "501234567"), ("971501234567", "971501234567"), ("Omar", "Omar"), ("12", "12")],
)
def test_a_phone_typed_in_a_search_box_is_searched_by_its_digits(typed: str, searched: str) -> None:
    assert phone_search_term(typed) == searched
