"""SLA clocks in business hours: pure functions of a calendar, a start, a target and the clock's pauses.

A ticket's clock only runs while the support desk works (its weekdays and hours in the tenant's time zone, not on
the public holidays of its country) and while the ticket is not waiting on the customer (a pause). The due time is
the instant the running business time reaches the target; `explain` says how it was reached.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# How far ahead a due time is looked for: a calendar that never opens (every day a holiday) gives up here.
HORIZON_DAYS = 3 * 366


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision)


def holiday_countries() -> list[str]:
    """The country codes the `holidays` library knows."""
    return sorted(holidays.list_supported_countries())


@dataclass(frozen=True)
class Calendar:
    """When the desk works: ISO weekdays (1 = Monday), opening hours in `zone`, and whose public holidays it keeps."""

    zone: ZoneInfo
    work_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    opens: time = time(9)
    closes: time = time(17)
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    extra_holidays: frozenset[date] = field(default_factory=frozenset)

    def holiday(self, day: date) -> str | None:
        """The name of the public holiday on `day`, if the desk keeps one then."""
        if day in self.extra_holidays:
            return "Holiday"
        if self.holiday_country:
            return _holidays(self.holiday_country, self.holiday_subdivision).get(day)
        return None

    def is_working_day(self, day: date) -> bool:
        """Whether the desk opens on `day` at all."""
        return day.isoweekday() in self.work_days and self.holiday(day) is None

    def day_hours(self, day: date) -> tuple[datetime, datetime] | None:
        """The desk's opening and closing instants (UTC) on a local `day`, or None when it stays closed."""
        if not self.is_working_day(day):
            return None
        opens = datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(UTC)
        closes = datetime.combine(day, self.closes, tzinfo=self.zone).astimezone(UTC)
        return opens, closes

    def working_spans(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The desk's open spans from `start` on (UTC), the first cut at `start`, for at most HORIZON_DAYS."""
        day = start.astimezone(self.zone).date()
        for _ in range(HORIZON_DAYS):
            hours = self.day_hours(day)
            day += timedelta(days=1)
            if hours is None or hours[1] <= start:
                continue
            yield max(hours[0], start), hours[1]


def business_time(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """The desk's working time between two instants."""
    total = timedelta()
    if end <= start:
        return total
    for opens, closes in calendar.working_spans(start):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total


def add_business_time(calendar: Calendar, start: datetime, amount: timedelta) -> datetime:
    """The instant `amount` of working time after `start` (at `start` itself when nothing is left and the desk is
    open; else at the end of the span that uses the last of it)."""
    remaining = amount
    for opens, closes in calendar.working_spans(start):
        span = closes - opens
        if remaining <= span:
            return opens + remaining
        remaining -= span
    raise ValueError("the calendar has no working time within the horizon")


Pause = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class Clock:
    """Where an SLA clock stands at `now`: its due time (None while paused), the working time used and left, and
    whether it was met (stopped at `met_at`) or breached."""

    target: timedelta
    due_at: datetime | None
    used: timedelta
    remaining: timedelta
    paused: bool
    met_at: datetime | None
    breached: bool


def due_at(calendar: Calendar, start: datetime, target: timedelta, pauses: Sequence[Pause] = ()) -> datetime | None:
    """When a clock started at `start` with `target` working time reaches it, given its pauses (intervals it stood
    still, in order; an open one — no end — means it stands still now: None). A pause that begins after the due
    time does not move it (the clock had already run out)."""
    remaining, cursor = target, start
    for paused_from, paused_until in sorted(pauses, key=lambda p: p[0]):
        if paused_until is not None and paused_until <= cursor:
            continue
        paused_from = max(paused_from, cursor)
        used = business_time(calendar, cursor, paused_from)
        if used >= remaining:
            return add_business_time(calendar, cursor, remaining)
        remaining -= used
        if paused_until is None:
            return None
        cursor = paused_until
    return add_business_time(calendar, cursor, remaining)


def running_time(calendar: Calendar, start: datetime, until: datetime, pauses: Sequence[Pause] = ()) -> timedelta:
    """The working time a clock ran between `start` and `until`, not counting its pauses."""
    total = business_time(calendar, start, until)
    for paused_from, paused_until in pauses:
        lo, hi = max(paused_from, start), min(paused_until or until, until)
        if hi > lo:
            total -= business_time(calendar, lo, hi)
    return total


def clock(calendar: Calendar, start: datetime, target: timedelta, pauses: Sequence[Pause], met_at: datetime | None, now: datetime) -> Clock:
    """The state of a clock at `now` (stopped at `met_at` when it was met)."""
    until = met_at or now
    used = running_time(calendar, start, until, pauses)
    due = due_at(calendar, start, target, pauses)
    paused = met_at is None and any(p[1] is None for p in pauses)
    breached = used > target
    return Clock(target, due, used, max(target - used, timedelta()), paused, met_at, breached)


def format_duration(amount: timedelta) -> str:
    """`2 h 30 min`, `45 min`, `3 d 2 h` (days of 24 h, for long spans)."""
    minutes = int(amount.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return " ".join(parts[:2])


@lru_cache(maxsize=1)
def holiday_country_names() -> tuple[tuple[str, str], ...]:
    """(ISO code, English name) of every country whose public holidays can be kept, by name."""
    from holidays.registry import COUNTRIES

    supported = holidays.list_supported_countries()
    named = {entry[1]: module.replace("_", " ").title() for module, entry in COUNTRIES.items() if entry[1] in supported}
    return tuple(sorted(named.items(), key=lambda item: item[1]))


def holiday_subdivisions(country: str | None) -> list[str]:
    """The subdivision codes of a country (`ENG`, `SCT`… for GB), empty for none or an unknown one."""
    return list(holidays.list_supported_countries().get(country or "", [])) if country else []
