"""Times and numbers on screens: in the viewer's zone (their own, else the tenant's), with the zone labelled, and in the
viewer's locale (their browser's Accept-Language, through Babel's CLDR data).

Templates call `when(value, "datetime")`; the `<time>` element keeps the exact instant (ISO, UTC
offset) for machines and shows the zone's full name on hover. English readers get Atrium's house formats
(`07 Dec 2026 15:00`); other locales their own (`7 déc. 2026, 15:00`, Arabic digits and month names for `ar`).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from babel.numbers import format_decimal
from markupsafe import Markup, escape

FORMATS = {
    "date": "%d %b %Y",
    "datetime": "%d %b %Y %H:%M",
    "short": "%d %b %H:%M",
    "short_seconds": "%d %b %H:%M:%S",
    "seconds": "%d %b %Y %H:%M:%S",
    "time": "%H:%M:%S",
    "clock": "%H:%M",
}


# The same styles as CLDR skeletons (date part, time part), for the locales that are not English; the two parts are
# joined the locale's way ("{1}, {0}", "{1} {0}", …).
SKELETONS: dict[str, tuple[str | None, str | None]] = {
    "date": ("yMMMd", None),
    "datetime": ("yMMMd", "Hm"),
    "short": ("MMMd", "Hm"),
    "short_seconds": ("MMMd", "Hms"),
    "seconds": ("yMMMd", "Hms"),
    "time": (None, "Hms"),
    "clock": (None, "Hm"),
}
DEFAULT_LOCALE = "en"
_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


@cache
def _locale(tag: str) -> Locale | None:
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None


def pick_locale(accept_language: str | None) -> str:
    """The best locale Babel knows among a browser's Accept-Language (`ar-AE,ar;q=0.9,en;q=0.8` → `ar_AE`); else `en`."""
    choices: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "").split(",")[:12]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if _TAG.match(tag) and quality > 0:
            choices.append((-quality, n, tag))
    for _, _, tag in sorted(choices):
        locale = _locale(tag)
        if locale is not None:
            return str(locale)
    return DEFAULT_LOCALE


def is_english(locale: str) -> bool:
    """English readers keep the house formats the whole product was written with."""
    return locale == "en" or locale.startswith("en_")


def number(value: int | float | Decimal | None, places: int = 0, locale: str = DEFAULT_LOCALE, *, empty: str = "—") -> str:
    """A number with the locale's grouping and decimal signs (`1,250,000.50`, `1.250.000,50`, Arabic digits for `ar`)."""
    if value is None:
        return empty
    if is_english(locale):
        return f"{value:,.{places}f}"
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(value, format=pattern, locale=_locale(locale) or DEFAULT_LOCALE)


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def zone_label(moment: datetime) -> str:
    """`GST`-style abbreviations where the zone has one, else `UTC+04` (never a bare `+04`)."""
    abbreviation = moment.strftime("%Z")
    return f"UTC{abbreviation}" if abbreviation[:1] in "+-" else abbreviation


def _localised(local: datetime, style: str, locale: Locale) -> str:
    day, clock = SKELETONS[style]
    day_text = format_skeleton(day, local, locale=locale) if day else ""
    clock_text = format_skeleton(clock, local, locale=locale) if clock else ""
    if day_text and clock_text:
        return str(locale.datetime_formats["medium"]).replace("{1}", day_text).replace("{0}", clock_text)
    return day_text or clock_text


def when(value: datetime | None, style: str = "datetime", zone: str = "UTC", *, empty: str = "", locale: str = DEFAULT_LOCALE) -> Markup:
    """`value` as a `<time>` element in `zone` and `locale`; times of day carry the zone's label, dates alone do not."""
    if value is None:
        return escape(empty)
    local = value.astimezone(_zone(zone))
    shown = local.strftime(FORMATS[style]) if is_english(locale) else _localised(local, style, _locale(locale) or Locale("en"))
    if style != "date":
        shown = f"{shown} {zone_label(local)}"
    if not is_english(locale):  # a right-to-left locale's date reads in its own direction inside the English layout
        return Markup('<time datetime="{}" title="{}" dir="auto">{}</time>').format(value.isoformat(), zone, shown)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(value.isoformat(), zone, shown)
