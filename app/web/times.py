"""Times on screens: in the viewer's zone (their own, else the tenant's), with the zone labelled.

Templates call `when(value, "datetime")`; the `<time>` element keeps the exact instant (ISO, UTC
offset) for machines and shows the zone's full name on hover.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


def when(value: datetime | None, style: str = "datetime", zone: str = "UTC", *, empty: str = "") -> Markup:
    """`value` as a `<time>` element in `zone`; times of day carry the zone's label, dates alone do not."""
    if value is None:
        return escape(empty)
    local = value.astimezone(_zone(zone))
    shown = local.strftime(FORMATS[style])
    if style != "date":
        shown = f"{shown} {zone_label(local)}"
    return Markup('<time datetime="{}" title="{}">{}</time>').format(value.isoformat(), zone, shown)
