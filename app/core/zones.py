"""The time zones a tenant or a person may choose (IANA names, from the system's or tzdata's database)."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from app.core.errors import ValidationFailed


@cache
def zone_names() -> tuple[str, ...]:
    """Every zone on offer, sorted, UTC first (aliases such as `Etc/GMT+4` left out)."""
    return ("UTC", *sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))


def checked_zone(name: str) -> str:
    """`name` when it is a zone on offer, else a ValidationFailed for the `time_zone` field."""
    if name not in zone_names():
        raise ValidationFailed(
            f"Unknown time zone: {name[:64]}",
            details={"field": "time_zone", "provided": name[:64], "expected": "an IANA time zone, e.g. Asia/Dubai"},
            human="Choose a time zone from the list, like Asia/Dubai",
        )
    return name
