"""Dates and numbers in the reader's locale (Babel's CLDR data), from the browser's Accept-Language: English readers keep
the house formats; Arabic, French and German readers get theirs, and an Arabic date reads in its own direction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from app.web.times import number, pick_locale, when

MOMENT = datetime(2026, 12, 7, 11, 30, tzinfo=UTC)


def test_the_browsers_languages_choose_a_locale_babel_knows() -> None:
    assert pick_locale("ar-AE,ar;q=0.9,en;q=0.8") == "ar_AE"
    assert pick_locale("xx-YY, de;q=0.5, fr;q=0.7") == "fr"
    assert pick_locale("en-US,en;q=0.9") == "en_US"
    assert pick_locale(None) == pick_locale("") == pick_locale("*;q=1, !!") == "en"


def test_times_show_in_the_zone_and_the_locale() -> None:
    assert "07 Dec 2026 15:30 UTC+04" in when(MOMENT, "datetime", "Asia/Dubai", locale="en_US")
    assert "7. Dez. 2026, 15:30 UTC+04" in when(MOMENT, "datetime", "Asia/Dubai", locale="de")
    assert "7 déc. 2026" in when(MOMENT, "date", "Asia/Dubai", locale="fr_FR")
    arabic = when(MOMENT, "date", "Asia/Dubai", locale="ar_AE")
    assert "ديسمبر" in arabic and 'dir="auto"' in arabic
    assert 'datetime="2026-12-07T11:30:00+00:00"' in arabic  # the exact instant stays for machines


def test_numbers_use_the_locales_signs() -> None:
    assert number(Decimal("1250000.50"), 2, "en") == "1,250,000.50"
    assert number(Decimal("1250000.50"), 2, "de") == "1.250.000,50"
    assert number(1250000, 0, "fr_FR").replace("\u202f", " ") == "1 250 000"
    assert number(None, 0, "de", empty="…") == "…"
